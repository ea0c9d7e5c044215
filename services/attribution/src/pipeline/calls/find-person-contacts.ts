import type { HistoryCall } from '../../matching/call-matching.js';
import { ContactProbes, type Contact } from '../../leads/lead-grouping.js';
import type { ContactPeople, ContactProbe, EnquiryLookups } from '../../store/enquiry-lookups.js';
import { evaluateCalls, type EvaluationLookups, type MatchedReport } from '../call-evaluation.js';

const pairKey = (siteId: string, id: string): string => `${siteId}\n${id}`;

/**
 * The stored contacts the calls' leads are decided from, by site: for each call, its person's
 * latest earlier contact per phone and visitor, and the first contacts of those contacts'
 * leads and of the callers' stored calls' leads (a lead's window runs from its first contact).
 * Which people each call is (its caller, the visitor it is matched to) does not depend on
 * leads: an evaluation over an index that only records what it is asked tells, and only
 * those are read, instead of every contact of every person in the lead window (a whole
 * history per batch for a busy caller or visitor). The calls being evaluated are left out:
 * their stored state is what is being replaced (evaluateCalls sees them as evaluated).
 */
export async function findPersonContacts(
  lookups: EnquiryLookups,
  matched: readonly MatchedReport[],
  facts: EvaluationLookups,
  q: { people: ContactPeople; fromMs: number; toMs: number; evaluating: ReadonlySet<string>; history: readonly HistoryCall[] },
): Promise<Map<string, Contact[]>> {
  const recorders = new Map<string, ContactProbes>();
  evaluateCalls(matched, {
    ...facts,
    personContacts: (siteId) => {
      const recorder = new ContactProbes();
      recorders.set(siteId, recorder);
      return recorder;
    },
  });
  const probes: ContactProbe[] = [...recorders].flatMap(([siteId, r]) =>
    r.probes.map((c) => ({ siteId, phone: c.phone, visitorId: c.visitorId, atMs: c.atMs, id: c.id })),
  );
  const latest = await lookups.latestContactsBefore(q.people, probes, q.fromMs, q.toMs, [...q.evaluating]);
  const have = new Set(latest.map((c) => pairKey(c.siteId, c.id)));
  const leads = new Map<string, { siteId: string; id: string }>();
  for (const c of latest) if (c.leadId) leads.set(pairKey(c.siteId, c.leadId), { siteId: c.siteId, id: c.leadId });
  for (const h of q.history) if (h.direction === 'inbound' && h.leadId) leads.set(pairKey(h.siteId, h.leadId), { siteId: h.siteId, id: h.leadId });
  const firsts = await lookups.contactsByIds(
    q.people,
    [...leads].filter(([key]) => !have.has(key)).map(([, k]) => k),
    q.fromMs,
    q.toMs,
  );
  const out = new Map<string, Contact[]>();
  for (const c of [...latest, ...firsts]) {
    if (c.kind === 'call' && q.evaluating.has(pairKey(c.siteId, c.id))) continue;
    const list = out.get(c.siteId) ?? [];
    list.push(c);
    out.set(c.siteId, list);
  }
  return out;
}
