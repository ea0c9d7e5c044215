import type { SiteSettings } from '../../settings/attribution-settings.js';
import type { CallLookups } from '../../store/call-lookups.js';
import type { CallRow } from '../../store/rows.js';
import type { PlannedCall } from '../call-evaluation.js';
import { callsToFollow, type LeftLead, type WrittenCall } from '../dependent-calls.js';

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
const pairKey = (siteId: string, id: string): string => `${siteId}\n${id}`;
const at = (r: CallRow): number => Date.parse(r.started_at ?? '') || 0;

/**
 * The stored calls that depend on calls just written (one round): the next call of the same
 * caller or visitor (first or repeat, lead, repeat-caller match: dependent-calls.ts), the later
 * calls of a lead a call left, and the missed calls an outbound call called back. Reads
 * positions, not whole histories, so a backlog of a busy caller's calls stays linear.
 */
export async function findDependentCalls(
  lookups: CallLookups,
  plans: readonly PlannedCall[],
  settingsOf: (siteId: string) => SiteSettings,
): Promise<CallRow[]> {
  const written = plans.map((p) => p.row);
  if (written.length === 0) return [];
  const writtenKeys = new Set(written.map((r) => pairKey(r.site_id, r.call_id)));
  const sites = [...new Set(written.map((r) => r.site_id))].map(settingsOf);
  const laterMs = Math.max(...sites.map((s) => Math.max(s.lookbackDays, s.repeatCallerWindowDays, s.leadWindowDays))) * DAY_MS;
  const callbackMs = Math.max(...sites.map((s) => s.callbackWindowHours)) * HOUR_MS;
  // Spam is nobody's lead, so it has no dependents through its visitor.
  const inbound: WrittenCall[] = written
    .filter((r) => r.direction !== 'outbound')
    .map((r) => ({ siteId: r.site_id, callId: r.call_id, number: r.caller_number, visitorId: r.verdict === 'spam' ? '' : r.visitor_id, atMs: at(r) }))
    .filter((w) => w.number || w.visitorId);
  const leftLeads: LeftLead[] = plans
    .filter((p) => p.row.direction !== 'outbound' && p.previousLeadId && p.previousLeadId !== p.row.lead_id)
    .map((p) => ({ siteId: p.row.site_id, leadId: p.previousLeadId, callId: p.row.call_id, atMs: at(p.row) }));
  const outboundWritten = written.filter((r) => r.direction === 'outbound' && r.called_number);
  const rows = new Map<string, CallRow>();
  if (inbound.length > 0 || leftLeads.length > 0) {
    const starts = [...inbound.map((w) => w.atMs), ...leftLeads.map((l) => l.atMs)];
    const [fromMs, toMs] = [Math.min(...starts), Math.max(...starts) + laterMs];
    // Per written call and person key, only the calls up to its next one (ClickHouse picks
    // them); a lead left behind is read whole, as every later call in it may follow.
    const [following, inLeftLeads] = await Promise.all([
      lookups.nextPositions(inbound, fromMs, toMs),
      leftLeads.length === 0
        ? []
        : lookups.callPositions({ sites: leftLeads.map((l) => l.siteId), numbers: [], visitors: [], leads: leftLeads.map((l) => l.leadId) }, fromMs, toMs),
    ]);
    const seen = new Set(following.map((p) => pairKey(p.siteId, p.callId)));
    const positions = [...following, ...inLeftLeads.filter((p) => !seen.has(pairKey(p.siteId, p.callId)))];
    const next = callsToFollow(inbound, positions, leftLeads);
    if (next.length > 0) {
      const stored = await lookups.storedRows(next, Math.min(...next.map((p) => p.atMs)), Math.max(...next.map((p) => p.atMs)));
      for (const [key, row] of stored) if (!writtenKeys.has(key)) rows.set(key, row);
    }
  }
  for (const d of await lookups.calledBack(
    outboundWritten.map((r) => ({ siteId: r.site_id, number: r.called_number, startedAtMs: at(r) })),
    callbackMs,
  )) {
    const key = pairKey(d.site_id, d.call_id);
    if (writtenKeys.has(key)) continue;
    if (outboundWritten.some((w) => w.site_id === d.site_id && w.called_number === d.caller_number && at(w) >= at(d))) rows.set(key, d);
  }
  return [...rows.values()];
}
