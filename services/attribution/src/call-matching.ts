import { calltrack, classifyChannel, type EventInput } from '@calltrack/contracts';

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

/** The source data of the visit a lease was granted to, from `visits`. */
export interface VisitSource {
  sessionId: string;
  visitorId: string;
  /** Marketing channel of the visit (docs/channels.md). */
  channel: string;
  utm: { source: string; medium: string; campaign: string; content: string; term: string };
  referrer: string;
  landingPage: string;
  clickIds: Record<string, string>;
  analyticsIds: { gaClientId: string; ymUid: string; fbp: string; fbc: string };
}

/** What attribution knows of a site from the `sites` topic (a subset of SiteConfigured). */
export interface SiteNumbers {
  defaultNumber: string;
  poolNumbers: readonly string[];
  staticNumbers: ReadonlyArray<{ number: string; utmSource: string; utmMedium: string; utmCampaign: string }>;
}

export type LeaseMatchReason = 'lease_active' | 'lease_released_within_grace';
export type UnmatchedReason = 'no_lease_for_number' | 'default_number' | 'number_not_tracked' | 'unknown_site';

export type MatchDecision =
  | { method: 'dynamic'; lease: LeaseCandidate; reason: LeaseMatchReason; stateMayBeBehind: boolean }
  | { method: 'static'; source: { utmSource: string; utmMedium: string; utmCampaign: string } }
  | { method: 'unmatched'; reason: UnmatchedReason };

/**
 * The lease a call belongs to: among the leases of the dialled number, those granted
 * at or before the call started and either still held or released at most `graceMs`
 * before it (the visitor wrote the number down); the latest grant wins, since a number
 * is only leased again once the previous visitor's hold ended.
 */
export function matchLease(
  candidates: readonly LeaseCandidate[],
  callStartMs: number,
  graceMs: number,
): { lease: LeaseCandidate; reason: LeaseMatchReason } | undefined {
  let best: LeaseCandidate | undefined;
  for (const c of candidates) {
    if (c.grantedAtMs > callStartMs) continue;
    if (c.releasedAtMs !== null && callStartMs > c.releasedAtMs + graceMs) continue;
    // Ties (two grants in the same millisecond) fall to the larger lease id, so replays decide alike.
    if (!best || c.grantedAtMs > best.grantedAtMs || (c.grantedAtMs === best.grantedAtMs && c.leaseId > best.leaseId)) best = c;
  }
  if (!best) return undefined;
  const reason = best.releasedAtMs === null || callStartMs <= best.releasedAtMs ? 'lease_active' : 'lease_released_within_grace';
  return { lease: best, reason };
}

/**
 * Decides where a call came from: (a) the lease of the dialled number that covers the
 * call, (b) else the site's static number with its source, (c) else unmatched with the
 * reason. `leases` are the stored leases of this site and number.
 */
export function decideMatch(input: {
  trackingNumber: string;
  callStartMs: number;
  graceMs: number;
  site: SiteNumbers | undefined;
  leases: readonly LeaseCandidate[];
}): MatchDecision {
  const { trackingNumber, callStartMs, site, leases } = input;
  const match = matchLease(leases, callStartMs, input.graceMs);
  if (match) {
    // Held, yet past its expiry: its release (and maybe a newer lease of the number) may still be in flight.
    const stateMayBeBehind = match.lease.releasedAtMs === null && callStartMs > match.lease.expiresAtMs;
    return { method: 'dynamic', lease: match.lease, reason: match.reason, stateMayBeBehind };
  }
  const fixed = site?.staticNumbers.find((s) => s.number === trackingNumber);
  if (fixed) return { method: 'static', source: { utmSource: fixed.utmSource, utmMedium: fixed.utmMedium, utmCampaign: fixed.utmCampaign } };
  if (site && site.defaultNumber === trackingNumber) return { method: 'unmatched', reason: 'default_number' };
  if (leases.length > 0 || site?.poolNumbers.includes(trackingNumber)) return { method: 'unmatched', reason: 'no_lease_for_number' };
  return { method: 'unmatched', reason: site ? 'number_not_tracked' : 'unknown_site' };
}

/**
 * Whether the decision can still change when lease and visit events that are in
 * flight reach ClickHouse: a fresh call in this state waits a little before it is stored.
 */
export function mayImproveWithState(decision: MatchDecision, visit: VisitSource | undefined): boolean {
  switch (decision.method) {
    case 'static':
      return false;
    case 'dynamic':
      return !visit || decision.stateMayBeBehind;
    case 'unmatched':
      return true;
  }
}

/** The origin part of CallAttributed (everything but the call and its verdict). */
export type CallOrigin = Omit<EventInput<'CallAttributed'>, 'call' | 'verdict' | 'verdictReason' | 'final'>;

/** Builds the CallAttributed origin fields of a decision; a matched lease whose visit is unknown says so in match_reason. */
export function originOf(decision: MatchDecision, visit: VisitSource | undefined): CallOrigin {
  switch (decision.method) {
    case 'static': {
      const { utmSource, utmMedium, utmCampaign } = decision.source;
      return {
        method: MatchMethod.MATCH_METHOD_STATIC,
        matchReason: 'static_number',
        // A static number without tags says nothing of a channel; it is not "direct" traffic.
        channel: utmSource || utmMedium ? classifyChannel({ utmSource, utmMedium }) : 'other',
        utm: { source: utmSource, medium: utmMedium, campaign: utmCampaign },
      };
    }
    case 'unmatched':
      return { method: MatchMethod.MATCH_METHOD_UNMATCHED, matchReason: decision.reason };
    case 'dynamic': {
      const { lease } = decision;
      const base = { method: MatchMethod.MATCH_METHOD_DYNAMIC, sessionId: lease.sessionId, visitorId: lease.visitorId, leaseId: lease.leaseId };
      if (!visit) return { ...base, matchReason: `${decision.reason}_visit_missing` };
      return {
        ...base,
        matchReason: decision.reason,
        channel: visit.channel,
        utm: { ...visit.utm },
        referrer: visit.referrer,
        landingPage: visit.landingPage,
        clickIds: { ...visit.clickIds },
        analyticsIds: { ...visit.analyticsIds },
      };
    }
  }
}
