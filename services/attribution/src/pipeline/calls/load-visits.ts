import { matchedSession, type VisitSource } from '../../matching/call-matching.js';
import type { AttributionStore } from '../../store/attribution-store.js';
import type { MatchedReport } from '../call-evaluation.js';

const DAY_MS = 86_400_000;

/** The visits the decided matches credit (a lease's, a redemption's, a repeat caller's source's), by `site\nsession`. */
export async function loadVisits(store: AttributionStore, matched: readonly MatchedReport[]): Promise<Map<string, VisitSource>> {
  const hints: Array<{ siteId: string; sessionId: string; at: number }> = [];
  let unknownGrant = false;
  for (const { report, decision } of matched) {
    const session = matchedSession(decision);
    if (!session) continue;
    let at: number;
    if (decision.method === 'dynamic') at = decision.lease.grantedAtMs;
    else if (decision.method === 'promo_code') {
      at = decision.redemption.leaseGrantedAtMs ?? decision.redemption.calledAtMs;
      unknownGrant ||= decision.redemption.leaseGrantedAtMs === null;
    } else at = decision.method === 'repeat_caller' ? (decision.source.sessionStartedAtMs ?? decision.source.startedAtMs) : report.keyStartMs;
    hints.push({ siteId: report.siteId, sessionId: session.sessionId, at });
  }
  if (hints.length === 0) return new Map();
  const times = hints.map((h) => h.at);
  // A visit starts just before it asks for a number (a day either side covers clock skew); a
  // redeemed code may have been shown up to number-pool's redemption window before the call.
  const reach = unknownGrant ? 31 * DAY_MS : DAY_MS;
  return store.visits(hints, Math.min(...times) - reach, Math.max(...times) + DAY_MS);
}
