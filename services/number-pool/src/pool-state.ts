import { randomInt } from 'node:crypto';
import type { calltrack, DomainEvent, EventInput } from '@calltrack/contracts';
import { FreeNumbers } from './free-numbers.js';

type SiteConfigured = calltrack.events.v1.SiteConfigured;

export interface Lease {
  leaseId: string;
  siteId: string;
  sessionId: string;
  visitorId: string;
  /** Keyed hash of the client address of the request (empty: unknown); the lease counts toward that address's pool share. */
  clientKey: string;
  requestId: string;
  /** Empty for a promo-code-only lease. */
  trackingNumber: string;
  promoCode: string;
  grantedAtMs: number;
  expiresAtMs: number;
  /** The session ended (final extension): later heartbeats do not move the tail. */
  ended: boolean;
}

/** What number-pool knows of one number of a site; kept when the number leaves the pool, so its history stays. */
interface NumberRuntime {
  number: string;
  leaseId: string | undefined;
  /** When the number was last released; 0 for never leased. The longest-released free number goes first. */
  releasedAtMs: number;
  /** Visitor of the number's last lease: a returning visitor gets their number back while it is free. */
  lastVisitorId: string | undefined;
  lastCallAtMs: number;
  /** The quarantine (by its start) that NumberQuarantineEnded closed. */
  quarantineEndedFor: number;
}

/** The site's configuration of one number, read from the inventory (or the legacy pool list). */
interface NumberConfig {
  usage: 'pool' | 'static' | 'overflow';
  retired: boolean;
  quarantinedFromMs: number;
}

interface CodeHolder {
  leaseId: string;
  sessionId: string;
  visitorId: string;
  grantedAtMs: number;
  /** Undefined while the lease is live. */
  releasedAtMs: number | undefined;
}

interface SitePool {
  config: SiteConfigured;
  numbers: Map<string, NumberConfig>;
  /** The dynamic pool in service (usage pool, not retired), in configuration order. */
  pool: string[];
  inPool: Set<string>;
  /** Pool numbers held by a live lease. */
  leased: number;
  free: FreeNumbers;
  /** Numbers whose quarantine may still be running (checked by the sweep). */
  quarantineCandidates: string[];
  /** Visitor → the number of their last lease, while that number has had no other visitor since (sticky numbers). */
  lastNumberOf: Map<string, string>;
  runtime: Map<string, NumberRuntime>;
  liveCodes: Map<string, string>;
  /** Who held each promo code and when, for redemption; pruned after the redemption window. */
  codeHistory: Map<string, CodeHolder[]>;
  /** Call ids already observed (bounded), so a call's repeated reports count once. */
  seenCalls: Set<string>;
  /** Calls already linked to a promo code: call key → code. */
  redemptions: Map<string, string>;
  /** Derived from the event log, so a rebuilt instance reports the same figures. */
  counters: PoolCounters;
}

interface PoolCounters {
  granted: number;
  /** Requests answered after their deadline (LeaseRejected reason "expired"): their visitors already saw the default number. */
  expired: number;
  /** Grants that reached session-tracker after its visitor was shown the default number, given back at once. */
  undelivered: number;
  /** Requests that found every number leased (rejected or served by reusing a lease). */
  shortages: number;
  /**
   * Most numbers wanted at once: live leases plus the visitors a shortage left without a
   * number of their own (unmetUntilMs), each counted as wanting one for a lease tail.
   */
  peakDemand: number;
  /** End times (grant time + one tail) of the numbers shortages could not give, oldest first. */
  unmetUntilMs: number[];
  /** Visitors shown the site's default (or overflow) number for want of a free number, per UTC day (YYYY-MM-DD), the last 31 days. */
  shortageVisitorsByDay: Record<string, number>;
  promoCodesIssued: number;
  promoCodesRedeemed: number;
  /** Requests answered with a number their visitor or address already held (holder share reached). */
  holderShareReuses: number;
  /** Calls to pool numbers by what the number was at the time. */
  callsByNumberState: Record<NumberCallState, number>;
}

export const SHORTAGE_POLICIES = ['default_number', 'overflow_number', 'reuse_oldest'] as const;
export type ShortagePolicy = (typeof SHORTAGE_POLICIES)[number];
export type NumberState = 'available' | 'leased' | 'quarantined' | 'retired';
export type NumberCallState = 'leased' | 'free' | 'quarantined' | 'retired';

export type Decision =
  | { kind: 'granted'; payload: EventInput<'LeaseGranted'> }
  | { kind: 'rejected'; payload: EventInput<'LeaseRejected'> }
  /** The request was already answered (redelivered command): nothing new to publish. */
  | { kind: 'duplicate' };

export const DEFAULT_LEASE_TTL_SECONDS = 900;
export const DEFAULT_PROMO_LENGTH = 6;
/** Upper-case letters and digits without the look-alikes 0 O 1 I L, so a code read out on the phone survives. */
export const DEFAULT_PROMO_ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';
/** Rejections and ended leases are remembered as answered this long: long enough for any redelivery of their command. */
const REJECTION_MEMORY_MS = 10 * 60_000;
const SEEN_CALLS_LIMIT = 10_000;
const PROMO_ATTEMPTS = 50;
/**
 * Deadline of a request from before LeaseRequested.deadline_ms: its request time plus the
 * longest reply timeout session-tracker accepts (LEASE_REPLY_TIMEOUT_MS max).
 */
export const LEGACY_REQUEST_DEADLINE_MS = 30_000;

/** The moment after which a request's visitor is shown the default number; undefined when it carries no time at all. */
export function requestDeadline(request: Pick<calltrack.events.v1.LeaseRequested, 'deadlineMs' | 'requestedAtMs'>): number | undefined {
  const deadline = Number(request.deadlineMs) || 0;
  if (deadline > 0) return deadline;
  const requestedAt = Number(request.requestedAtMs) || 0;
  return requestedAt > 0 ? requestedAt + LEGACY_REQUEST_DEADLINE_MS : undefined;
}

export interface PoolStateOptions {
  /** How long after its release a promo code can still be redeemed. */
  promoRedemptionWindowMs?: number;
  /**
   * The sites this state writes for (a writer state holds every site's configuration,
   * but only the sites of its partition are its to sweep). Default: all.
   */
  ownsSite?: (siteId: string) => boolean;
  /**
   * Holder share: the percentage of a site's pool one visitor, or one client address,
   * may hold in live leases (at least one number); 0 turns the check off. Default 5.
   */
  holderSharePercent?: number;
}

/** How many pool numbers one visitor or one client address may hold at once. */
export function holderShareLimit(poolSize: number, percent: number): number {
  return Math.max(1, Math.floor((poolSize * percent) / 100));
}

/**
 * number-pool's state, rebuilt by applying its events in order. decide() is
 * pure with respect to the state: the caller publishes the decision's event
 * and then applies it, so the state only ever reflects what is on Kafka.
 */
export class PoolState {
  private readonly sites = new Map<string, SitePool>();
  private readonly leases = new Map<string, Lease>();
  // Answered request ids: a redelivered command must not take a second number.
  private readonly answered = new Map<string, string>();
  private readonly rejections: Array<{ requestId: string; atMs: number }> = [];
  private readonly redemptionWindowMs: number;
  private readonly ownsSite: (siteId: string) => boolean;
  private readonly holderSharePercent: number;
  /** Live leases holding a number, by holder (site, visitor or client key): the holder-share check counts them. */
  private readonly byHolder = new Map<string, Set<string>>();

  constructor(options: PoolStateOptions = {}) {
    this.redemptionWindowMs = options.promoRedemptionWindowMs ?? 30 * 24 * 3600_000;
    this.ownsSite = options.ownsSite ?? (() => true);
    this.holderSharePercent = options.holderSharePercent ?? 5;
  }

  apply(event: DomainEvent): void {
    switch (event.type) {
      case 'SiteConfigured':
        this.configure(event.siteId, event.payload as SiteConfigured);
        break;
      case 'LeaseGranted':
        this.applyGranted(event.siteId, event.payload as calltrack.events.v1.LeaseGranted);
        break;
      case 'LeaseRejected': {
        const p = event.payload as calltrack.events.v1.LeaseRejected;
        if (this.answered.has(p.requestId)) break; // a second copy of the answer, as for grants
        this.answered.set(p.requestId, '');
        this.rejections.push({ requestId: p.requestId, atMs: event.occurredAtMs });
        this.forgetOldRejections(event.occurredAtMs);
        const site = this.sites.get(event.siteId);
        if (site && p.reason === 'holder_share') site.counters.holderShareReuses += 1;
        if (site && p.reason === 'pool_exhausted') {
          site.counters.shortages += 1;
          this.countUnmet(site, event.occurredAtMs);
          const day = new Date(event.occurredAtMs).toISOString().slice(0, 10);
          const byDay = site.counters.shortageVisitorsByDay;
          byDay[day] = (byDay[day] ?? 0) + 1;
          // Insertion order is day order for a live log; a rebuild replays in the same order.
          for (const d of Object.keys(byDay).sort().slice(0, -SHORTAGE_DAYS_KEPT)) delete byDay[d];
        }
        if (site && p.reason === 'expired') site.counters.expired += 1;
        break;
      }
      case 'LeaseExtended': {
        const p = event.payload as calltrack.events.v1.LeaseExtended;
        const lease = this.leases.get(p.leaseId);
        if (lease) lease.expiresAtMs = Math.max(lease.expiresAtMs, Number(p.expiresAtMs));
        break;
      }
      case 'LeaseExpired':
        this.applyExpired(event.siteId, event.payload as calltrack.events.v1.LeaseExpired);
        break;
      case 'NumberCallObserved': {
        const p = event.payload as calltrack.events.v1.NumberCallObserved;
        const site = this.sites.get(event.siteId);
        if (!site || site.seenCalls.has(p.callId)) break;
        remember(site.seenCalls, p.callId);
        const rt = this.runtimeOf(site, p.trackingNumber);
        rt.lastCallAtMs = Math.max(rt.lastCallAtMs, Number(p.calledAtMs));
        const state = p.numberState as NumberCallState;
        if (state in site.counters.callsByNumberState) site.counters.callsByNumberState[state] += 1;
        break;
      }
      case 'NumberQuarantineEnded': {
        const p = event.payload as calltrack.events.v1.NumberQuarantineEnded;
        const site = this.sites.get(event.siteId);
        if (!site) break;
        const rt = this.runtimeOf(site, p.trackingNumber);
        rt.quarantineEndedFor = Number(p.quarantinedFromMs);
        if (!rt.leaseId) site.free.push({ releasedAtMs: rt.releasedAtMs, number: rt.number });
        break;
      }
      case 'PromoCodeRedeemed': {
        const p = event.payload as calltrack.events.v1.PromoCodeRedeemed;
        const site = this.sites.get(event.siteId);
        if (!site) break;
        const key = redemptionKey(p);
        if (!site.redemptions.has(key)) site.counters.promoCodesRedeemed += 1;
        site.redemptions.set(key, p.promoCode);
        break;
      }
      default:
        break;
    }
  }

  private applyGranted(siteId: string, p: calltrack.events.v1.LeaseGranted): void {
    // A second copy of an answer (a publish retried after the broker took the first but did not
    // acknowledge it in time): applying it again would count it twice, or revive an ended lease.
    if (this.answered.has(p.requestId)) return;
    const lease: Lease = {
      leaseId: p.leaseId,
      siteId,
      sessionId: p.sessionId,
      visitorId: p.visitorId,
      clientKey: p.clientKey ?? '',
      requestId: p.requestId,
      trackingNumber: p.trackingNumber,
      promoCode: p.promoCode,
      grantedAtMs: Number(p.grantedAtMs),
      expiresAtMs: Number(p.expiresAtMs),
      ended: false,
    };
    // Under the reuse policy the new lease takes over a live one, which ends here.
    if (p.reusedLeaseId) this.forgetHolder(this.leases.get(p.reusedLeaseId));
    if (p.reusedLeaseId) this.leases.delete(p.reusedLeaseId);
    this.leases.set(lease.leaseId, lease);
    this.rememberHolder(lease);
    this.answered.set(p.requestId, lease.leaseId);
    const site = this.sites.get(siteId);
    if (!site) return;
    site.counters.granted += 1;
    // A reuse takes a number from a visitor who still holds it: both wanted one.
    if (p.reusedLeaseId) {
      site.counters.shortages += 1;
      this.countUnmet(site, Number(p.grantedAtMs));
    }
    if (lease.trackingNumber) {
      const rt = this.runtimeOf(site, lease.trackingNumber);
      if (rt.leaseId === undefined && site.inPool.has(rt.number)) site.leased += 1;
      this.holdNumber(site, rt, lease);
      site.counters.peakDemand = Math.max(site.counters.peakDemand, site.leased + this.unmetAt(site, lease.grantedAtMs));
    }
    if (lease.promoCode) {
      site.liveCodes.set(lease.promoCode, lease.leaseId);
      site.counters.promoCodesIssued += 1;
      const holders = site.codeHistory.get(lease.promoCode) ?? [];
      holders.push({ leaseId: lease.leaseId, sessionId: lease.sessionId, visitorId: lease.visitorId, grantedAtMs: lease.grantedAtMs, releasedAtMs: undefined });
      site.codeHistory.set(lease.promoCode, holders);
    }
  }

  private applyExpired(siteId: string, p: calltrack.events.v1.LeaseExpired): void {
    const lease = this.leases.get(p.leaseId);
    if (!lease) return;
    this.forgetHolder(lease);
    this.leases.delete(p.leaseId);
    // Still answered: a redelivered request of an ended lease (an uncommitted offset after a crash)
    // must not be granted a second time; forgotten like a rejection once no redelivery can come.
    this.answered.set(lease.requestId, '');
    this.rejections.push({ requestId: lease.requestId, atMs: Number(p.releasedAtMs) });
    this.forgetOldRejections(Number(p.releasedAtMs));
    const site = this.sites.get(siteId);
    if (!site) return;
    if (p.reason === 'undelivered') site.counters.undelivered += 1;
    const releasedAtMs = Number(p.releasedAtMs);
    const rt = lease.trackingNumber ? site.runtime.get(lease.trackingNumber) : undefined;
    if (rt && rt.leaseId === lease.leaseId) {
      rt.leaseId = undefined;
      rt.releasedAtMs = releasedAtMs;
      if (site.inPool.has(rt.number)) {
        site.leased -= 1;
        site.free.push({ releasedAtMs, number: rt.number });
      }
    }
    if (lease.promoCode) {
      if (site.liveCodes.get(lease.promoCode) === lease.leaseId) site.liveCodes.delete(lease.promoCode);
      const holder = site.codeHistory.get(lease.promoCode)?.find((h) => h.leaseId === lease.leaseId);
      if (holder) holder.releasedAtMs = releasedAtMs;
      this.pruneCodeHistory(site, releasedAtMs);
    }
  }

  private configure(siteId: string, config: SiteConfigured): void {
    const previous = this.sites.get(siteId);
    const numbers = new Map<string, NumberConfig>();
    if (config.numbers.length > 0) {
      for (const n of config.numbers) {
        if (!n.number) continue;
        numbers.set(n.number, {
          usage: n.usage === 'static' || n.usage === 'overflow' ? n.usage : 'pool',
          retired: n.status === 'retired',
          quarantinedFromMs: Number(n.quarantinedFromMs ?? 0),
        });
      }
    } else {
      // A configuration without an inventory (written before it existed): every pool number in service.
      for (const number of config.poolNumbers) numbers.set(number, { usage: 'pool', retired: false, quarantinedFromMs: 0 });
    }
    const pool = [...numbers].filter(([, n]) => n.usage === 'pool' && !n.retired).map(([number]) => number);
    const derived = {
      config,
      numbers,
      pool,
      inPool: new Set(pool),
      leased: 0,
      free: new FreeNumbers(),
      quarantineCandidates: [...numbers].filter(([, n]) => n.quarantinedFromMs > 0 && !n.retired).map(([number]) => number),
    };
    const site: SitePool = previous
      ? { ...previous, ...derived }
      : {
          ...derived,
          lastNumberOf: new Map(),
          runtime: new Map(),
          liveCodes: new Map(),
          codeHistory: new Map(),
          seenCalls: new Set(),
          redemptions: new Map(),
          counters: {
            granted: 0,
            expired: 0,
            undelivered: 0,
            holderShareReuses: 0,
            shortages: 0,
            peakDemand: 0,
            unmetUntilMs: [],
            shortageVisitorsByDay: {},
            promoCodesIssued: 0,
            promoCodesRedeemed: 0,
            callsByNumberState: { leased: 0, free: 0, quarantined: 0, retired: 0 },
          },
        };
    this.sites.set(siteId, site);
    // Live leases hold their numbers whatever order the site and lease events were read in
    // (a rebuild reads two topics). A lease on a number retired meanwhile stays live until it
    // expires: the visitor still sees the number.
    for (const lease of this.leases.values()) {
      if (lease.siteId !== siteId || !lease.trackingNumber) continue;
      this.holdNumber(site, this.runtimeOf(site, lease.trackingNumber), lease);
    }
    for (const number of pool) {
      const rt = this.runtimeOf(site, number);
      if (rt.leaseId !== undefined) site.leased += 1;
      else site.free.push({ releasedAtMs: rt.releasedAtMs, number });
    }
  }

  private holdNumber(site: SitePool, rt: NumberRuntime, lease: Lease): void {
    rt.leaseId = lease.leaseId;
    // The number's previous visitor can no longer get it back as "their" number.
    if (rt.lastVisitorId !== undefined && rt.lastVisitorId !== lease.visitorId && site.lastNumberOf.get(rt.lastVisitorId) === rt.number) {
      site.lastNumberOf.delete(rt.lastVisitorId);
    }
    rt.lastVisitorId = lease.visitorId;
    if (lease.visitorId) site.lastNumberOf.set(lease.visitorId, rt.number);
  }

  private runtimeOf(site: SitePool, number: string): NumberRuntime {
    let rt = site.runtime.get(number);
    if (!rt) {
      rt = { number, leaseId: undefined, releasedAtMs: 0, lastVisitorId: undefined, lastCallAtMs: 0, quarantineEndedFor: 0 };
      site.runtime.set(number, rt);
    }
    return rt;
  }

  hasSite(siteId: string): boolean {
    return this.sites.has(siteId);
  }

  siteConfig(siteId: string): SiteConfigured | undefined {
    return this.sites.get(siteId)?.config;
  }

  siteIds(): string[] {
    return [...this.sites.keys()];
  }

  /** True while the number is in a quarantine that has not ended. */
  private quarantined(site: SitePool, number: string): boolean {
    const from = site.numbers.get(number)?.quarantinedFromMs ?? 0;
    return from > 0 && site.runtime.get(number)?.quarantineEndedFor !== from;
  }

  decide(siteId: string, request: calltrack.events.v1.LeaseRequested, nowMs: number): Decision {
    if (this.answered.has(request.requestId)) return { kind: 'duplicate' };
    const site = this.sites.get(siteId);
    const base = { requestId: request.requestId, sessionId: request.sessionId, visitorId: request.visitorId, clientKey: request.clientKey ?? '' };
    // A request read after its deadline (a backlog after an outage): its visitor already sees the
    // default number, so a lease would only hold a number nobody was shown (and credit its calls wrongly).
    const deadline = requestDeadline(request);
    if (deadline !== undefined && nowMs > deadline)
      return { kind: 'rejected', payload: { ...base, reason: 'expired', fallbackNumber: site?.config.defaultNumber ?? '' } };
    if (!site) return { kind: 'rejected', payload: { ...base, reason: 'unknown_site', fallbackNumber: '' } };
    const ttl = (site.config.leaseTtlSeconds || DEFAULT_LEASE_TTL_SECONDS) * 1000;
    const grant = (trackingNumber: string, extra: { reusedLeaseId?: string; promoCode?: string } = {}): Decision => ({
      kind: 'granted',
      payload: {
        ...base,
        leaseId: request.requestId,
        trackingNumber,
        grantedAtMs: nowMs,
        expiresAtMs: nowMs + ttl,
        reusedLeaseId: extra.reusedLeaseId ?? '',
        promoCode: extra.promoCode ?? '',
        requestDeadlineMs: deadline ?? 0,
      },
    });

    if (request.method === 'promo_code') {
      const code = this.newPromoCode(site);
      if (!code) return { kind: 'rejected', payload: { ...base, reason: 'codes_exhausted', fallbackNumber: site.config.defaultNumber } };
      return grant('', { promoCode: code });
    }

    // Holder share, before any free number is chosen: a visitor or address at its share reuses a number it holds.
    const held = this.holderShareReached(siteId, site, request);
    if (held) return { kind: 'rejected', payload: { ...base, reason: 'holder_share', fallbackNumber: held.trackingNumber } };

    const isFree = (number: string): boolean => site.inPool.has(number) && site.runtime.get(number)?.leaseId === undefined && !this.quarantined(site, number);
    // Sticky: the number this visitor saw last time, if nobody took it since.
    const mine = request.visitorId ? site.lastNumberOf.get(request.visitorId) : undefined;
    if (mine && isFree(mine)) return grant(mine);
    // Otherwise the free number released longest ago (stale heap entries are dropped on the way).
    const best = site.free.peekValid((e) => isFree(e.number) && site.runtime.get(e.number)!.releasedAtMs === e.releasedAtMs);
    if (best) return grant(best.number);
    if (site.pool.every((n) => this.quarantined(site, n)))
      return { kind: 'rejected', payload: { ...base, reason: 'pool_empty', fallbackNumber: site.config.defaultNumber } };
    const policy = (site.config.shortagePolicy || 'default_number') as ShortagePolicy;
    if (policy === 'reuse_oldest') {
      // Leases are kept in grant order, so the first one of this site holding a pool number is the oldest.
      for (const lease of this.leases.values()) {
        if (lease.siteId !== siteId || !site.inPool.has(lease.trackingNumber) || this.quarantined(site, lease.trackingNumber)) continue;
        if (site.runtime.get(lease.trackingNumber)?.leaseId !== lease.leaseId) continue;
        return grant(lease.trackingNumber, { reusedLeaseId: lease.leaseId });
      }
    }
    const fallbackNumber = policy === 'overflow_number' && site.config.overflowNumber ? site.config.overflowNumber : site.config.defaultNumber;
    return { kind: 'rejected', payload: { ...base, reason: 'pool_exhausted', fallbackNumber } };
  }

  /**
   * The holder-share step: when the request's visitor, or its client address, already
   * holds its share of the site's pool in live leases, the lease whose number it reuses
   * (the visitor's own latest, else the address's latest); undefined when it may take another.
   */
  private holderShareReached(siteId: string, site: SitePool, request: calltrack.events.v1.LeaseRequested): Lease | undefined {
    if (this.holderSharePercent <= 0) return undefined;
    const limit = holderShareLimit(site.pool.length, this.holderSharePercent);
    const latest = (key: string | undefined): Lease | undefined => {
      const ids = key === undefined ? undefined : this.byHolder.get(key);
      if (!ids || ids.size < limit) return undefined;
      let best: Lease | undefined;
      for (const id of ids) {
        const l = this.leases.get(id);
        if (l && (!best || l.grantedAtMs >= best.grantedAtMs)) best = l; // ties: the later grant
      }
      return best;
    };
    return latest(visitorHolder(siteId, request.visitorId)) ?? latest(clientHolder(siteId, request.clientKey ?? ''));
  }

  private rememberHolder(lease: Lease): void {
    if (!lease.trackingNumber) return;
    for (const key of holderKeys(lease)) {
      let ids = this.byHolder.get(key);
      if (!ids) this.byHolder.set(key, (ids = new Set()));
      ids.add(lease.leaseId);
    }
  }

  private forgetHolder(lease: Lease | undefined): void {
    if (!lease) return;
    for (const key of holderKeys(lease)) {
      const ids = this.byHolder.get(key);
      if (!ids) continue;
      ids.delete(lease.leaseId);
      if (ids.size === 0) this.byHolder.delete(key);
    }
  }

  /** A random code of the site's alphabet, not held by a live lease; undefined when none was found. */
  private newPromoCode(site: SitePool): string | undefined {
    const settings = site.config.promoCodes;
    const alphabet = settings?.alphabet || DEFAULT_PROMO_ALPHABET;
    const length = settings?.length || DEFAULT_PROMO_LENGTH;
    for (let attempt = 0; attempt < PROMO_ATTEMPTS; attempt += 1) {
      let code = '';
      for (let i = 0; i < length; i += 1) code += alphabet[randomInt(alphabet.length)];
      if (!site.liveCodes.has(code)) return code;
    }
    return undefined;
  }

  /**
   * A heartbeat: the live lease of this session is held for another tail from now.
   * Nothing to do for a lease that already ended (the tracker then starts a new
   * session), that belongs to another session, or whose session ended.
   */
  decideExtension(siteId: string, request: calltrack.events.v1.LeaseExtendRequested, nowMs: number): EventInput<'LeaseExtended'> | undefined {
    const lease = this.leases.get(request.leaseId);
    if (!lease || lease.siteId !== siteId || lease.sessionId !== request.sessionId || lease.ended) return undefined;
    if (request.final) lease.ended = true;
    const site = this.sites.get(siteId);
    const tail = (site?.config.leaseTtlSeconds || DEFAULT_LEASE_TTL_SECONDS) * 1000;
    const expiresAtMs = Math.max(nowMs, Number(request.requestedAtMs) || 0) + tail;
    // Only a real move of the tail is an event; frequent heartbeats within a second are not.
    if (expiresAtMs - lease.expiresAtMs < 1000) return undefined;
    return { leaseId: lease.leaseId, sessionId: lease.sessionId, trackingNumber: lease.trackingNumber, expiresAtMs };
  }

  /**
   * session-tracker received this lease's grant after it had shown its visitor the default
   * number: the lease ends at once and counts as never held (released at its grant time), so
   * attribution credits no call to it. Nothing for a lease already ended or of another session.
   */
  decideRelease(siteId: string, request: calltrack.events.v1.LeaseReleaseRequested): EventInput<'LeaseExpired'> | undefined {
    const lease = this.leases.get(request.leaseId);
    if (!lease || lease.siteId !== siteId || lease.sessionId !== request.sessionId) return undefined;
    return {
      leaseId: lease.leaseId,
      sessionId: lease.sessionId,
      trackingNumber: lease.trackingNumber,
      releasedAtMs: lease.grantedAtMs,
      promoCode: lease.promoCode,
      reason: 'undelivered',
    };
  }

  /** A call to one of the site's numbers: what the number was at the time, or undefined (not a pool number, or already seen). */
  observeCall(siteId: string, call: calltrack.events.v1.NumberCallReported): EventInput<'NumberCallObserved'> | undefined {
    const site = this.sites.get(siteId);
    const config = site?.numbers.get(call.trackingNumber);
    if (!site || !config || config.usage !== 'pool' || site.seenCalls.has(call.callId)) return undefined;
    const rt = site.runtime.get(call.trackingNumber);
    const numberState: NumberCallState = config.retired
      ? 'retired'
      : rt?.leaseId
        ? 'leased'
        : this.quarantined(site, call.trackingNumber)
          ? 'quarantined'
          : 'free';
    return {
      callId: call.callId,
      trackingNumber: call.trackingNumber,
      calledAtMs: call.calledAtMs,
      numberState,
      leaseId: numberState === 'leased' ? (rt?.leaseId ?? '') : '',
    };
  }

  /** Leases whose time is up, oldest first. */
  dueForExpiry(nowMs: number): Lease[] {
    return [...this.leases.values()].filter((l) => l.expiresAtMs <= nowMs).sort((a, b) => a.expiresAtMs - b.expiresAtMs);
  }

  /**
   * Quarantined numbers that have had no calls (and no lease) for the site's
   * quarantine period: their quarantine ends now.
   */
  dueQuarantineEnds(nowMs: number): Array<{ siteId: string; payload: EventInput<'NumberQuarantineEnded'> }> {
    const out: Array<{ siteId: string; payload: EventInput<'NumberQuarantineEnded'> }> = [];
    for (const [siteId, site] of this.sites) {
      if (site.quarantineCandidates.length === 0 || !this.ownsSite(siteId)) continue;
      const period = (site.config.quarantineSeconds ?? 0) * 1000;
      for (const number of site.quarantineCandidates) {
        const config = site.numbers.get(number)!;
        if (config.retired || !this.quarantined(site, number)) continue;
        const rt = site.runtime.get(number);
        if (rt?.leaseId) continue;
        const quietSince = Math.max(config.quarantinedFromMs, rt?.lastCallAtMs ?? 0, rt?.releasedAtMs ?? 0);
        if (nowMs >= quietSince + period)
          out.push({ siteId, payload: { trackingNumber: number, quarantinedFromMs: config.quarantinedFromMs, endedAtMs: nowMs } });
      }
    }
    return out;
  }

  liveLeases(siteId?: string): Lease[] {
    return [...this.leases.values()].filter((l) => siteId === undefined || l.siteId === siteId);
  }

  /** Every number of the site's inventory with its state now. */
  numberStates(siteId: string, nowMs: number): NumberStateView[] | undefined {
    const site = this.sites.get(siteId);
    if (!site) return undefined;
    const period = (site.config.quarantineSeconds ?? 0) * 1000;
    return [...site.numbers].map(([number, config]) => {
      const rt = site.runtime.get(number);
      const view: NumberStateView = { number, usage: config.usage, state: 'available' };
      if (rt?.lastCallAtMs) view.lastCallAtMs = rt.lastCallAtMs;
      if (rt?.leaseId) view.leaseId = rt.leaseId;
      if (config.retired) view.state = 'retired';
      else if (rt?.leaseId) view.state = 'leased';
      else if (this.quarantined(site, number)) {
        view.state = 'quarantined';
        view.quarantinedUntilMs = Math.max(config.quarantinedFromMs, rt?.lastCallAtMs ?? 0, rt?.releasedAtMs ?? 0, nowMs - period) + period;
      }
      return view;
    });
  }

  /**
   * The session that was shown a promo code at a time: the lease holding it then,
   * else its latest holder released before that time within the redemption window.
   */
  findPromoHolder(siteId: string, code: string, atMs: number): CodeHolder | undefined {
    const holders = this.sites.get(siteId)?.codeHistory.get(code) ?? [];
    let best: CodeHolder | undefined;
    for (const h of holders) {
      if (h.grantedAtMs > atMs) continue;
      if (h.releasedAtMs === undefined || h.releasedAtMs >= atMs) return h;
      if (atMs - h.releasedAtMs <= this.redemptionWindowMs && (!best || h.releasedAtMs > best.releasedAtMs!)) best = h;
    }
    return best;
  }

  /** The code a call was already linked to, if any. */
  redemptionOf(siteId: string, key: { callId: string; callerNumber: string; calledAtMs: number }): string | undefined {
    return this.sites.get(siteId)?.redemptions.get(redemptionKey(key));
  }

  /**
   * A visitor a shortage left without a number of their own would have held one for about a
   * lease tail: demand counts them until then, so the peak (and the recommended size) says
   * what visitors needed, not what the pool could give.
   */
  private countUnmet(site: SitePool, atMs: number): void {
    const ttl = (site.config.leaseTtlSeconds || DEFAULT_LEASE_TTL_SECONDS) * 1000;
    const unmet = site.counters.unmetUntilMs;
    unmet.push(atMs + ttl);
    // Events arrive in time order per site; keep the list sorted all the same.
    for (let i = unmet.length - 1; i > 0 && unmet[i - 1]! > unmet[i]!; i -= 1) [unmet[i - 1], unmet[i]] = [unmet[i]!, unmet[i - 1]!];
    site.counters.peakDemand = Math.max(site.counters.peakDemand, site.leased + this.unmetAt(site, atMs));
  }

  /** Unmet wants still running at `atMs` (older ones are dropped). */
  private unmetAt(site: SitePool, atMs: number): number {
    const unmet = site.counters.unmetUntilMs;
    let expired = 0;
    while (expired < unmet.length && unmet[expired]! <= atMs) expired += 1;
    if (expired > 0) unmet.splice(0, expired);
    return unmet.length;
  }

  siteStats(siteId: string): SiteStats | undefined {
    const site = this.sites.get(siteId);
    if (!site) return undefined;
    const leased = site.leased;
    let quarantined = 0;
    for (const number of site.pool) if (this.quarantined(site, number)) quarantined += 1;
    const {
      granted,
      expired,
      undelivered,
      holderShareReuses,
      shortages,
      peakDemand,
      promoCodesIssued,
      promoCodesRedeemed,
      callsByNumberState,
      shortageVisitorsByDay,
    } = site.counters;
    return {
      poolSize: site.pool.length,
      leased,
      quarantined,
      free: Math.max(0, site.pool.length - leased - quarantined),
      utilisation: site.pool.length === 0 ? 0 : Math.round((leased / site.pool.length) * 1000) / 1000,
      defaultNumber: site.config.defaultNumber,
      leaseTtlSeconds: site.config.leaseTtlSeconds || DEFAULT_LEASE_TTL_SECONDS,
      shortagePolicy: (site.config.shortagePolicy || 'default_number') as ShortagePolicy,
      granted,
      expired,
      undelivered,
      shortages,
      peakDemand,
      recommendedPoolSize: recommendedPoolSize(peakDemand),
      livePromoCodes: site.liveCodes.size,
      promoCodesIssued,
      promoCodesRedeemed,
      holderShareReuses,
      callsByNumberState: { ...callsByNumberState },
      shortageVisitorsByDay: Object.entries(shortageVisitorsByDay)
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([day, visitors]) => ({ day, visitors })),
    };
  }

  /**
   * The state of the sites this state writes for, as plain data (a snapshot):
   * everything the event log built that the site configurations do not give.
   * Maps whose order has no meaning are sorted, so equal states give equal data.
   */
  toSnapshot(): PoolStateSnapshot {
    const byKey = <V>(m: Map<string, V>): Array<[string, V]> => [...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const sites: PoolStateSnapshot['sites'] = {};
    for (const [siteId, site] of [...this.sites].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      if (!this.ownsSite(siteId)) continue;
      sites[siteId] = {
        runtime: byKey(site.runtime).map(([, rt]) => ({ ...rt, leaseId: rt.leaseId ?? null, lastVisitorId: rt.lastVisitorId ?? null })),
        lastNumberOf: byKey(site.lastNumberOf),
        liveCodes: byKey(site.liveCodes),
        codeHistory: byKey(site.codeHistory).map(([code, holders]) => [code, holders.map((h) => ({ ...h, releasedAtMs: h.releasedAtMs ?? null }))]),
        // Insertion order matters: the oldest call id is forgotten first.
        seenCalls: [...site.seenCalls],
        redemptions: byKey(site.redemptions),
        counters: {
          ...site.counters,
          callsByNumberState: { ...site.counters.callsByNumberState },
          unmetUntilMs: [...site.counters.unmetUntilMs],
          shortageVisitorsByDay: { ...site.counters.shortageVisitorsByDay },
        },
      };
    }
    return {
      format: 1,
      // Grant order matters: reuse_oldest takes the first live lease.
      leases: [...this.leases.values()].filter((l) => this.ownsSite(l.siteId)).map((l) => ({ ...l })),
      answered: byKey(this.answered),
      rejections: this.rejections.map((r) => ({ ...r })),
      sites,
    };
  }

  /**
   * Loads a snapshot into a state that holds the site configurations and nothing
   * else yet; the derived parts (leased count, free-number order) are rebuilt
   * from the configurations as configure() does.
   */
  restoreSnapshot(snapshot: PoolStateSnapshot): void {
    if (snapshot.format !== 1) throw new Error(`unsupported pool snapshot format ${String(snapshot.format)}`);
    for (const l of snapshot.leases) this.leases.set(l.leaseId, { ...l });
    for (const [requestId, leaseId] of snapshot.answered) this.answered.set(requestId, leaseId);
    this.rejections.push(...snapshot.rejections.map((r) => ({ ...r })));
    for (const [siteId, data] of Object.entries(snapshot.sites)) {
      const site = this.sites.get(siteId);
      // A site without a configuration is not in the rebuild either: its leases stay, as a full replay keeps them.
      if (!site) continue;
      site.runtime = new Map(data.runtime.map((rt) => [rt.number, { ...rt, leaseId: rt.leaseId ?? undefined, lastVisitorId: rt.lastVisitorId ?? undefined }]));
      site.lastNumberOf = new Map(data.lastNumberOf);
      site.codeHistory = new Map(data.codeHistory.map(([code, holders]) => [code, holders.map((h) => ({ ...h, releasedAtMs: h.releasedAtMs ?? undefined }))]));
      site.seenCalls = new Set(data.seenCalls);
      site.redemptions = new Map(data.redemptions);
      // Snapshots written before unmet demand was counted have neither field.
      site.counters = {
        ...data.counters,
        callsByNumberState: { ...data.counters.callsByNumberState },
        unmetUntilMs: [...(data.counters.unmetUntilMs ?? [])],
        shortageVisitorsByDay: { ...(data.counters.shortageVisitorsByDay ?? {}) },
      };
      site.liveCodes = new Map(data.liveCodes);
      this.configure(siteId, site.config);
    }
  }

  private forgetOldRejections(nowMs: number): void {
    while (this.rejections.length > 0 && this.rejections[0]!.atMs < nowMs - REJECTION_MEMORY_MS) {
      const { requestId } = this.rejections.shift()!;
      if (this.answered.get(requestId) === '') this.answered.delete(requestId);
    }
  }

  private pruneCodeHistory(site: SitePool, nowMs: number): void {
    // Cheap enough per expiry for the code just released; a full sweep would be needed only for memory, not correctness.
    if (site.codeHistory.size < 50_000) return;
    for (const [code, holders] of site.codeHistory) {
      const kept = holders.filter((h) => h.releasedAtMs === undefined || nowMs - h.releasedAtMs <= this.redemptionWindowMs);
      if (kept.length === 0) site.codeHistory.delete(code);
      else if (kept.length !== holders.length) site.codeHistory.set(code, kept);
    }
  }
}

const visitorHolder = (siteId: string, visitorId: string): string | undefined => (visitorId ? `${siteId}\u0000visitor\u0000${visitorId}` : undefined);
const clientHolder = (siteId: string, clientKey: string): string | undefined => (clientKey ? `${siteId}\u0000client\u0000${clientKey}` : undefined);

function holderKeys(lease: Lease): string[] {
  return [visitorHolder(lease.siteId, lease.visitorId), clientHolder(lease.siteId, lease.clientKey)].filter((k): k is string => k !== undefined);
}

function remember(set: Set<string>, value: string): void {
  set.add(value);
  // Sets iterate in insertion order: drop the oldest.
  if (set.size > SEEN_CALLS_LIMIT) set.delete(set.values().next().value as string);
}

function redemptionKey(p: { callId: string; callerNumber: string; calledAtMs: unknown }): string {
  return p.callId ? `call:${p.callId}` : `caller:${p.callerNumber}@${Number(p.calledAtMs)}`;
}

/** A writer state as plain (JSON) data; see PoolState.toSnapshot. */
export interface PoolStateSnapshot {
  format: 1;
  leases: Lease[];
  answered: Array<[string, string]>;
  rejections: Array<{ requestId: string; atMs: number }>;
  sites: Record<
    string,
    {
      runtime: Array<Omit<NumberRuntime, 'leaseId' | 'lastVisitorId'> & { leaseId: string | null; lastVisitorId: string | null }>;
      lastNumberOf: Array<[string, string]>;
      liveCodes: Array<[string, string]>;
      codeHistory: Array<[string, Array<Omit<CodeHolder, 'releasedAtMs'> & { releasedAtMs: number | null }>]>;
      seenCalls: string[];
      redemptions: Array<[string, string]>;
      counters: PoolCounters;
    }
  >;
}

export interface NumberStateView {
  number: string;
  usage: 'pool' | 'static' | 'overflow';
  state: NumberState;
  leaseId?: string;
  quarantinedUntilMs?: number;
  lastCallAtMs?: number;
}

export interface SiteStats {
  poolSize: number;
  leased: number;
  quarantined: number;
  free: number;
  /** Leased share of the pool now, 0..1. */
  utilisation: number;
  defaultNumber: string;
  leaseTtlSeconds: number;
  shortagePolicy: ShortagePolicy;
  granted: number;
  /** Requests answered "expired": they reached number-pool after their deadline. */
  expired: number;
  /** Grants given back because they reached session-tracker after its visitor saw the default number. */
  undelivered: number;
  shortages: number;
  peakDemand: number;
  recommendedPoolSize: number;
  livePromoCodes: number;
  promoCodesIssued: number;
  promoCodesRedeemed: number;
  /** Requests answered with a number their visitor or address already held (holder share reached). */
  holderShareReuses: number;
  callsByNumberState: Record<NumberCallState, number>;
  /** Visitors shown the default (or overflow) number because every number was leased, per UTC day. */
  shortageVisitorsByDay: Array<{ day: string; visitors: number }>;
}

/**
 * Pool size for the measured peak: the peak plus 20 % headroom (peaks of the next
 * days vary) plus one number so a shortage is not the norm at the peak itself.
 */
/** Days of shortage counts the statistics keep. */
const SHORTAGE_DAYS_KEPT = 31;

export function recommendedPoolSize(peakDemand: number): number {
  return peakDemand === 0 ? 0 : Math.ceil(peakDemand * 1.2) + 1;
}
