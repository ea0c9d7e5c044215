import { calltrack } from '@calltrack/contracts';
import { matchedSession, mayImproveWithState, type VisitSource } from '../../matching/call-matching.js';
import type { CallReport, MatchedReport } from '../call-evaluation.js';

const OUTBOUND = calltrack.events.v1.CallDirection.CALL_DIRECTION_OUTBOUND;
const POLL_MS = 250;

/** A new report with what the live consumer knows of its record. */
export interface FreshReport {
  report: CallReport;
  /** When the record was published (Kafka timestamp): how fresh the call is. */
  publishedAtMs: number;
}

/**
 * Lease and visit events travel on other topics, read by the state consumer: a call
 * published less than `stateWaitMs` ago whose decided match could still improve when they
 * reach ClickHouse (no lease, no visit yet, or a lease past its expiry without a release)
 * is worth deciding again a little later. Returns how long to wait before that, or 0 when
 * no call of the batch is waiting (or their time is up): the match stands.
 */
export function stateWaitFor(
  fresh: readonly FreshReport[],
  matched: readonly MatchedReport[],
  visits: ReadonlyMap<string, VisitSource>,
  stateWaitMs: number,
  nowMs: number,
): number {
  const published = new Map(fresh.map((f) => [`${f.report.siteId}\n${f.report.callId}`, f.publishedAtMs]));
  let until = Infinity;
  for (const { report, decision } of matched) {
    const publishedAtMs = published.get(`${report.siteId}\n${report.callId}`);
    // An outbound call is never matched, a stored call evaluated again waits for nothing.
    if (publishedAtMs === undefined || !report.call.trackingNumber || report.call.direction === OUTBOUND) continue;
    if (nowMs >= publishedAtMs + stateWaitMs) continue;
    const session = matchedSession(decision);
    const visit = session ? visits.get(`${report.siteId}\n${session.sessionId}`) : undefined;
    if (mayImproveWithState(decision, visit)) until = Math.min(until, publishedAtMs + stateWaitMs);
  }
  return until === Infinity ? 0 : Math.max(10, Math.min(POLL_MS, until - nowMs));
}
