import type { LearntWeights } from '../../models/attribution-models.js';
import type { TouchCredit } from '../../models/call-credits.js';
import type { MarkovModelService } from '../../models/markov-model.service.js';
import type { SiteSettings } from '../../settings/attribution-settings.js';
import type { MatchedContact } from '../../leads/lead-grouping.js';
import type { AttributionStore } from '../../store/attribution-store.js';
import type { CallLookups } from '../../store/call-lookups.js';
import type { EnquiryLookups } from '../../store/enquiry-lookups.js';
import { enquiryConversionId } from '../../store/rows.js';
import {
  creditsForEnquiry,
  evaluateEnquiries,
  planEnquiryWrites,
  type EnquiryReport,
  type EvaluatedEnquiry,
  type PlannedEnquiry,
} from '../enquiry-evaluation.js';

const DAY_MS = 86_400_000;
const pairKey = (siteId: string, id: string): string => `${siteId}\n${id}`;
const unique = <T>(values: readonly T[]): T[] => [...new Set(values)];

/**
 * Evaluates enquiries (new, or stored ones again) against what ClickHouse holds — the named
 * session's visit, the visitor's visits, the person's earlier contacts — credits them under
 * every model and plans what to write. Reads only.
 */
export async function planEnquiries(
  io: { store: AttributionStore; lookups: EnquiryLookups; callLookups: CallLookups; markov: MarkovModelService },
  reports: readonly EnquiryReport[],
  mode: 'report' | 'reevaluate',
  settingsOf: (siteId: string) => SiteSettings,
): Promise<PlannedEnquiry[]> {
  if (reports.length === 0) return [];
  const siteIds = unique(reports.map((r) => r.siteId));
  const widest = (f: (s: SiteSettings) => number): number => Math.max(...siteIds.map((id) => f(settingsOf(id))));
  const lookbackMs = widest((s) => s.lookbackDays) * DAY_MS;
  const earlierMs = widest((s) => Math.max(s.lookbackDays, s.repeatCallerWindowDays, s.leadWindowDays)) * DAY_MS;
  const at = reports.map((r) => r.occurredAtMs);
  const [minAt, maxAt] = [Math.min(...at), Math.max(...at)];
  const evaluating = new Set(reports.map((r) => pairKey(r.siteId, enquiryConversionId(r.enquiryId))));

  const [stored, sessionVisits] = await Promise.all([
    io.lookups.stored(
      reports.map((r) => ({ siteId: r.siteId, enquiryId: r.enquiryId })),
      minAt,
      maxAt,
    ),
    io.store.visits(
      reports.filter((r) => r.givenSessionId).map((r) => ({ siteId: r.siteId, sessionId: r.givenSessionId })),
      minAt - lookbackMs,
      maxAt + DAY_MS,
    ),
  ]);
  const visitors = unique([...reports.map((r) => r.givenVisitorId), ...[...sessionVisits.values()].map((v) => v.visitorId)].filter((v) => v));
  const [visitorVisits, contactList] = await Promise.all([
    io.lookups.visitorVisits(
      reports.flatMap((r) => visitors.map((v) => ({ siteId: r.siteId, visitorId: v }))),
      minAt - lookbackMs,
      maxAt + 60_000,
    ),
    io.lookups.contacts(
      siteIds,
      reports.map((r) => r.phone),
      visitors,
      minAt - earlierMs,
      maxAt,
    ),
  ]);
  const contacts = new Map<string, MatchedContact[]>();
  for (const c of contactList) {
    if (evaluating.has(pairKey(c.siteId, c.id))) continue;
    const list = contacts.get(c.siteId) ?? [];
    list.push(c);
    contacts.set(c.siteId, list);
  }

  const evaluated = evaluateEnquiries(reports, {
    settings: settingsOf,
    sessionVisit: (siteId, sessionId) => sessionVisits.get(pairKey(siteId, sessionId)),
    visitorVisits: (siteId, visitorId) => visitorVisits.get(pairKey(siteId, visitorId)) ?? [],
    contacts: (siteId) => contacts.get(siteId) ?? [],
  });
  const matched = evaluated.filter((e) => e.matchedTouch);
  const touches = await io.callLookups.visitorTouches(
    matched.map((e) => ({ siteId: e.report.siteId, visitorId: e.matchedTouch!.visitorId })),
    minAt - lookbackMs,
    maxAt,
  );
  const shares = new Map<string, LearntWeights>();
  for (const id of siteIds) shares.set(id, await io.markov.shares(id));
  const credits = new Map<EvaluatedEnquiry, TouchCredit[]>(
    evaluated.map((e) => [
      e,
      e.matchedTouch ? creditsForEnquiry(e, touches.get(pairKey(e.report.siteId, e.matchedTouch.visitorId)) ?? [], shares.get(e.report.siteId)!) : [],
    ]),
  );
  return planEnquiryWrites(evaluated, credits, stored, mode);
}
