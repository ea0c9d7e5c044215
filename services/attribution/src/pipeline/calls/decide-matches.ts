import { calltrack } from '@calltrack/contracts';
import {
  decideMatch,
  matchedSession,
  redemptionFor,
  repeatCallerSource,
  withRepeatCaller,
  type HistoryCall,
  type MatchDecision,
} from '../../matching/call-matching.js';
import { CallsByNumber, historyOf, inCallOrder, type CallReport, type EvaluationLookups, type MatchedReport } from '../call-evaluation.js';

/** What deciding a match reads: the site's numbers, the leases of the dialled numbers, redemptions and the callers' stored calls. */
export type MatchFacts = Pick<EvaluationLookups, 'graceMs' | 'site' | 'settings' | 'leases' | 'redemptions' | 'history'>;

const OUTBOUND = calltrack.events.v1.CallDirection.CALL_DIRECTION_OUTBOUND;
const DAY_MS = 86_400_000;

/**
 * Decides where each call came from, once, in call order (the one place a call's match is
 * decided: the later steps carry it). A promo code redeemed for the call, else the lease of
 * the dialled number, else the static number, else unmatched — and an unmatched call of a
 * caller whose earlier call (stored, or before it in this batch) was matched to a visitor
 * inherits that visitor (repeat caller). Pure.
 */
export function decideMatches(reports: readonly CallReport[], facts: MatchFacts): MatchedReport[] {
  const ordered = inCallOrder(reports);
  const calls = new CallsByNumber(facts.history, ordered);
  return ordered.map((report) => {
    const settings = facts.settings(report.siteId);
    const outbound = report.call.direction === OUTBOUND;
    const caller = outbound ? '' : (report.call.callerNumber ?? '');
    const start = report.keyStartMs;
    const sameNumber = calls.of(report.siteId, caller);
    const others = sameNumber.filter((h) => h.callId !== report.callId);
    const callerCalls = sameNumber.filter((h) => h.direction === 'inbound');
    const promo = outbound
      ? undefined
      : redemptionFor({ siteId: report.siteId, callId: report.callId, callerNumber: caller, startedAtMs: start }, facts.redemptions, callerCalls);
    const decision = withRepeatCaller(
      decideMatch({
        trackingNumber: report.call.trackingNumber ?? '',
        callStartMs: start,
        graceMs: facts.graceMs,
        site: facts.site(report.siteId)?.numbers,
        leases: facts.leases(report.siteId, report.call.trackingNumber ?? ''),
        outbound,
        promo,
      }),
      repeatCallerSource({ callId: report.callId, callerNumber: caller, startedAtMs: start }, others, settings.lookbackDays * DAY_MS),
    );
    // A later call of the same caller may inherit this one's visitor: it sees the decision.
    calls.put(decidedHistory(report, decision));
    return { report, decision };
  });
}

/** What a later call's repeat-caller rule needs of a decided call (its origin's other fields come with its evaluation). */
function decidedHistory(report: CallReport, decision: MatchDecision): HistoryCall {
  const session = matchedSession(decision);
  return {
    ...historyOf(report, undefined, null, ''),
    matchMethod: decision.method,
    matchConfidence: decision.method === 'unmatched' ? 0 : decision.confidence,
    sessionId: session?.sessionId ?? '',
    visitorId: session?.visitorId ?? '',
    leaseId: leaseIdOf(decision),
    sessionStartedAtMs: decision.method === 'repeat_caller' ? decision.source.sessionStartedAtMs : null,
  };
}

function leaseIdOf(decision: MatchDecision): string {
  switch (decision.method) {
    case 'dynamic':
      return decision.lease.leaseId;
    case 'promo_code':
      return decision.redemption.leaseId;
    case 'repeat_caller':
      return decision.source.leaseId;
    default:
      return '';
  }
}
