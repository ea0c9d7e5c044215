import { calltrack, classifyChannel, visitOrigin, type EventInput, type VisitOrigin } from '@calltrack/contracts';

const { MatchMethod } = calltrack.events.v1;

/** A lease of a tracking number, as stored in `leases` (latest version). */
export interface LeaseCandidate {
  siteId: string;
  leaseId: string;
  sessionId: string;
  visitorId: string;
  trackingNumber: string;
  grantedAtMs: number;
  expiresAtMs: number;
  /** null while the lease is held (no LeaseExpired stored yet). */
  releasedAtMs: number | null;
}

/** The visit a lease was granted to and its origin (channel: docs/channels.md), from `visits`. */
export interface VisitSource extends VisitOrigin {
  sessionId: string;
  visitorId: string;
  startedAtMs: number;
}

/** What attribution knows of a site from the `sites` topic (a subset of SiteConfigured). */
export interface SiteNumbers {
  defaultNumber: string;
  poolNumbers: readonly string[];
  staticNumbers: ReadonlyArray<StaticNumberSource & { number: string }>;
}

/** An operator's promo-code redemption (PromoCodeRedeemed), as stored in `promo_redemptions`. */
export interface Redemption {
  eventId: string;
  siteId: string;
  promoCode: string;
  sessionId: string;
  visitorId: string;
  leaseId: string;
  /** Set when the operator named the call; else callerNumber and calledAtMs name it. */
  callId: string;
  callerNumber: string;
  calledAtMs: number;
  redeemedAtMs: number;
  /** When the promo lease was granted (bounds the visit lookup); null if unknown. */
  leaseGrantedAtMs: number | null;
}

/**
 * A stored (or earlier in the batch) call, as the rules that look at a caller's other calls see it;
 * its origin as credited (the `calls` table keeps no analytics ids).
 */
export interface HistoryCall extends Omit<VisitOrigin, 'analyticsIds'> {
  siteId: string;
  callId: string;
  direction: string;
  callerNumber: string;
  calledNumber: string;
  startedAtMs: number;
  matchMethod: string;
  matchConfidence: number;
  sessionId: string;
  visitorId: string;
  leaseId: string;
  sessionStartedAtMs: number | null;
  leadId: string;
  /** Judged spam by antifraud: no lead, and no part of anyone's lead. */
  spam?: boolean;
}

export type LeaseMatchReason = 'lease_active' | 'lease_released_within_grace';
export type PromoMatchReason = 'promo_code_call_id' | 'promo_code_caller_time';
export type UnmatchedReason = 'no_lease_for_number' | 'default_number' | 'number_not_tracked' | 'unknown_site' | 'outbound_call';

/** What a static number's calls are credited to (the site's configuration, SiteConfigured.static_numbers). */
export interface StaticNumberSource {
  utmSource: string;
  utmMedium: string;
  utmCampaign: string;
  /** The channel it was given (docs/channels.md); empty: classified from its tags. */
  channel: string;
  /** Free text for offline media: "flyer", "billboard on the ring road". */
  label: string;
}

export type MatchDecision =
  | { method: 'dynamic'; lease: LeaseCandidate; reason: LeaseMatchReason; stateMayBeBehind: boolean; confidence: number }
  | { method: 'static'; source: StaticNumberSource; confidence: number }
  | { method: 'promo_code'; redemption: Redemption; reason: PromoMatchReason; confidence: number }
  | { method: 'repeat_caller'; source: HistoryCall; confidence: number }
  | { method: 'unmatched'; reason: UnmatchedReason };

/** How far the stated time of a caller-and-time redemption may be from the call's start. */
export const PROMO_TIME_TOLERANCE_MS = 15 * 60_000;
/** A repeat-caller match is half as sure as the call it inherits from: the person is the same, their reason for calling is not known. */
export const REPEAT_CALLER_CONFIDENCE_FACTOR = 0.5;

const round6 = (x: number): number => Math.round(x * 1e6) / 1e6;
const later = (a: LeaseCandidate, b: LeaseCandidate): boolean => a.grantedAtMs > b.grantedAtMs || (a.grantedAtMs === b.grantedAtMs && a.leaseId > b.leaseId);

/**
 * The lease a call belongs to, and how sure that is. Candidates are the leases of the
 * dialled number granted at or before the call and held at the call's start or ended
 * at most `graceMs` before it (the visitor wrote the number down); a lease counts as
 * ended at its release or, when a later lease of the number was granted before the
 * call, at that grant (a number is only leased again once the previous hold ended).
 *
 * Pick: the latest grant wins (ties: the larger lease id, so replays decide alike).
 * Confidence: each candidate is plausible p = 1 when held at the call, else
 * 1 − ½·(time since it ended / grace); the winner's confidence is p_win · p_win / Σp —
 * 1 for a lone held lease, less when the number was still fresh in another visitor's
 * mind or the winner's own hold had ended.
 */
export function matchLease(
  candidates: readonly LeaseCandidate[],
  callStartMs: number,
  graceMs: number,
): { lease: LeaseCandidate; reason: LeaseMatchReason; confidence: number } | undefined {
  const granted = candidates.filter((c) => c.grantedAtMs <= callStartMs);
  const qualifying: Array<{ lease: LeaseCandidate; p: number; held: boolean }> = [];
  for (const c of granted) {
    let endMs = c.releasedAtMs;
    for (const next of granted)
      if (later(next, c) && next.grantedAtMs > c.grantedAtMs && (endMs === null || next.grantedAtMs < endMs)) endMs = next.grantedAtMs;
    if (c.releasedAtMs !== null && callStartMs > c.releasedAtMs + graceMs) continue;
    if (endMs === null || callStartMs <= endMs) {
      qualifying.push({ lease: c, p: 1, held: c.releasedAtMs === null || callStartMs <= c.releasedAtMs });
      continue;
    }
    const elapsed = callStartMs - endMs;
    if (elapsed > graceMs) continue;
    qualifying.push({ lease: c, p: graceMs > 0 ? 1 - (0.5 * elapsed) / graceMs : 1, held: c.releasedAtMs === null || callStartMs <= c.releasedAtMs });
  }
  let best: (typeof qualifying)[number] | undefined;
  for (const q of qualifying) if (!best || later(q.lease, best.lease)) best = q;
  if (!best) return undefined;
  const sum = qualifying.reduce((a, q) => a + q.p, 0);
  return { lease: best.lease, reason: best.held ? 'lease_active' : 'lease_released_within_grace', confidence: round6((best.p * best.p) / sum) };
}

/**
 * The redemption that names a call. An operator's redemption by call id wins over one
 * by caller and time; among redemptions of the same kind the latest redeemed wins (a
 * correction). A caller-and-time redemption names the caller's inbound call that
 * started nearest its stated time, within PROMO_TIME_TOLERANCE_MS; its confidence is
 * 1 / the number of the caller's calls in that window.
 */
export function redemptionFor(
  call: { siteId: string; callId: string; callerNumber: string; startedAtMs: number },
  redemptions: readonly Redemption[],
  callerCalls: ReadonlyArray<{ callId: string; startedAtMs: number }>,
): { redemption: Redemption; reason: PromoMatchReason; confidence: number } | undefined {
  const latest = (list: Redemption[]): Redemption | undefined =>
    list.sort((a, b) => b.redeemedAtMs - a.redeemedAtMs || (a.eventId < b.eventId ? 1 : a.eventId > b.eventId ? -1 : 0))[0];
  const exact = latest(redemptions.filter((r) => r.siteId === call.siteId && r.callId !== '' && r.callId === call.callId));
  if (exact) return { redemption: exact, reason: 'promo_code_call_id', confidence: 1 };
  if (!call.callerNumber) return undefined;
  const named: Array<{ r: Redemption; n: number }> = [];
  for (const r of redemptions) {
    if (r.siteId !== call.siteId || r.callId !== '' || r.callerNumber !== call.callerNumber) continue;
    const inWindow = callerCalls.filter((c) => Math.abs(c.startedAtMs - r.calledAtMs) <= PROMO_TIME_TOLERANCE_MS);
    const nearest = [...inWindow].sort(
      (a, b) => Math.abs(a.startedAtMs - r.calledAtMs) - Math.abs(b.startedAtMs - r.calledAtMs) || (a.callId < b.callId ? -1 : 1),
    )[0];
    if (nearest?.callId === call.callId) named.push({ r, n: inWindow.length });
  }
  const r = latest(named.map((x) => x.r));
  if (!r) return undefined;
  return { redemption: r, reason: 'promo_code_caller_time', confidence: round6(1 / named.find((x) => x.r === r)!.n) };
}

/**
 * Decides where a call came from, in this order: an outbound call is no conversion;
 * (a) a promo code redeemed for the call (the operator heard it: it beats the number);
 * (b) the lease of the dialled number that covers the call; (c) the site's static
 * number with its source; (d) unmatched with the reason. A repeat caller (e) is
 * tried afterwards on an unmatched call (repeatCallerMatch), since it needs the
 * caller's other calls in order.
 */
export function decideMatch(input: {
  trackingNumber: string;
  callStartMs: number;
  graceMs: number;
  site: SiteNumbers | undefined;
  leases: readonly LeaseCandidate[];
  outbound?: boolean;
  promo?: { redemption: Redemption; reason: PromoMatchReason; confidence: number } | undefined;
}): MatchDecision {
  const { trackingNumber, callStartMs, site, leases } = input;
  if (input.outbound) return { method: 'unmatched', reason: 'outbound_call' };
  if (input.promo) return { method: 'promo_code', ...input.promo };
  const match = matchLease(leases, callStartMs, input.graceMs);
  if (match) {
    // Held, yet past its expiry: its release (and maybe a newer lease of the number) may still be in flight.
    const stateMayBeBehind = match.lease.releasedAtMs === null && callStartMs > match.lease.expiresAtMs;
    return { method: 'dynamic', lease: match.lease, reason: match.reason, stateMayBeBehind, confidence: match.confidence };
  }
  const fixed = site?.staticNumbers.find((s) => s.number === trackingNumber);
  if (fixed) {
    const { number: _number, ...source } = fixed;
    return { method: 'static', source, confidence: 1 };
  }
  if (site && site.defaultNumber === trackingNumber) return { method: 'unmatched', reason: 'default_number' };
  if (leases.length > 0 || site?.poolNumbers.includes(trackingNumber)) return { method: 'unmatched', reason: 'no_lease_for_number' };
  return { method: 'unmatched', reason: site ? 'number_not_tracked' : 'unknown_site' };
}

/**
 * The earlier call a call that could not be matched otherwise inherits its visitor
 * from: the caller's latest inbound call before it (within `lookbackMs`) that was
 * matched to a visitor — dynamically, by promo code or itself as a repeat caller.
 */
export function repeatCallerSource(
  call: { callId: string; callerNumber: string; startedAtMs: number },
  earlier: readonly HistoryCall[],
  lookbackMs: number,
): HistoryCall | undefined {
  if (!call.callerNumber) return undefined;
  let best: HistoryCall | undefined;
  for (const h of earlier) {
    if (h.direction !== 'inbound' || h.callerNumber !== call.callerNumber || !h.visitorId || h.callId === call.callId) continue;
    if (h.matchMethod !== 'dynamic' && h.matchMethod !== 'promo_code' && h.matchMethod !== 'repeat_caller') continue;
    if (!isBefore(h, call) || call.startedAtMs - h.startedAtMs > lookbackMs) continue;
    if (!best || isBefore(best, h)) best = h;
  }
  return best;
}

/** Applies the repeat-caller rule to a decision: only calls unmatched for a reason other than an unknown site or an outbound call. */
export function withRepeatCaller(decision: MatchDecision, source: HistoryCall | undefined): MatchDecision {
  if (decision.method !== 'unmatched' || !source || decision.reason === 'unknown_site' || decision.reason === 'outbound_call') return decision;
  return { method: 'repeat_caller', source, confidence: round6(source.matchConfidence * REPEAT_CALLER_CONFIDENCE_FACTOR) };
}

/** Call order: by start, then by call id (two calls in the same millisecond). */
export function isBefore(a: { startedAtMs: number; callId: string }, b: { startedAtMs: number; callId: string }): boolean {
  return a.startedAtMs < b.startedAtMs || (a.startedAtMs === b.startedAtMs && a.callId < b.callId);
}

/**
 * Whether the decision can still change when lease and visit events that are in
 * flight reach ClickHouse: a fresh call in this state waits a little before it is stored.
 */
export function mayImproveWithState(decision: MatchDecision, visit: VisitSource | undefined): boolean {
  switch (decision.method) {
    case 'static':
      return false;
    case 'repeat_caller':
      // Inherited for want of a lease: a lease of the dialled number still in flight would match the call itself.
      return true;
    case 'promo_code':
      return !visit;
    case 'dynamic':
      return !visit || decision.stateMayBeBehind;
    case 'unmatched':
      return decision.reason !== 'outbound_call';
  }
}

/** Schema version 1's flat origin fields of CallAttributed: deprecated, never written (docs/topics.md#schema-versions). */
type LegacyOriginFields = 'utm' | 'referrer' | 'landingPage' | 'clickIds' | 'analyticsIds' | 'channel';

/** The match part of CallAttributed (everything but the call, its verdict and its classification). */
export type CallOrigin = Omit<
  EventInput<'CallAttributed'>,
  'call' | 'verdict' | 'verdictReason' | 'final' | 'classification' | 'settingsRevision' | LegacyOriginFields
> & { origin: VisitOrigin };

/** Builds the CallAttributed match fields of a decision; a matched lease or session whose visit is unknown says so in match_reason. */
export function originOf(decision: MatchDecision, visit: VisitSource | undefined): CallOrigin {
  switch (decision.method) {
    case 'static': {
      const { utmSource, utmMedium, utmCampaign, channel, label } = decision.source;
      return {
        method: MatchMethod.MATCH_METHOD_STATIC,
        matchReason: 'static_number',
        confidence: decision.confidence,
        origin: visitOrigin({
          // The channel the number was given wins; else its tags say; a number with neither is not "direct" traffic.
          channel: channel || (utmSource || utmMedium ? classifyChannel({ utmSource, utmMedium }) : 'other'),
          utm: { source: utmSource, medium: utmMedium, campaign: utmCampaign },
        }),
        sourceLabel: label,
      };
    }
    case 'unmatched':
      return { method: MatchMethod.MATCH_METHOD_UNMATCHED, matchReason: decision.reason, origin: visitOrigin() };
    case 'dynamic': {
      const { lease } = decision;
      const base = {
        method: MatchMethod.MATCH_METHOD_DYNAMIC,
        sessionId: lease.sessionId,
        visitorId: lease.visitorId,
        leaseId: lease.leaseId,
        confidence: decision.confidence,
      };
      if (!visit) return { ...base, matchReason: `${decision.reason}_visit_missing`, origin: visitOrigin() };
      return { ...base, matchReason: decision.reason, origin: visitOrigin(visit) };
    }
    case 'promo_code': {
      const r = decision.redemption;
      const base = {
        method: MatchMethod.MATCH_METHOD_PROMO_CODE,
        sessionId: r.sessionId,
        visitorId: r.visitorId,
        leaseId: r.leaseId,
        promoCode: r.promoCode,
        confidence: decision.confidence,
      };
      if (!visit) return { ...base, matchReason: `${decision.reason}_visit_missing`, origin: visitOrigin() };
      return { ...base, matchReason: decision.reason, origin: visitOrigin(visit) };
    }
    case 'repeat_caller': {
      const s = decision.source;
      // The source of the earlier call, as it was credited; the visit (when found) adds the analytics ids.
      return {
        method: MatchMethod.MATCH_METHOD_REPEAT_CALLER,
        matchReason: 'repeat_caller',
        confidence: decision.confidence,
        sourceCallId: s.callId,
        sessionId: s.sessionId,
        visitorId: s.visitorId,
        leaseId: s.leaseId,
        origin: visitOrigin({ ...s, analyticsIds: visit?.analyticsIds ?? null }),
      };
    }
  }
}

/** The session a decision credits (and so the visit to look up), if any. */
export function matchedSession(decision: MatchDecision): { sessionId: string; visitorId: string } | undefined {
  switch (decision.method) {
    case 'dynamic':
      return { sessionId: decision.lease.sessionId, visitorId: decision.lease.visitorId };
    case 'promo_code':
      return { sessionId: decision.redemption.sessionId, visitorId: decision.redemption.visitorId };
    case 'repeat_caller':
      return { sessionId: decision.source.sessionId, visitorId: decision.source.visitorId };
    default:
      return undefined;
  }
}
