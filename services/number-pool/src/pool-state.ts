import type { calltrack, DomainEvent, EventInput } from '@calltrack/contracts';

type SiteConfigured = calltrack.events.v1.SiteConfigured;

export interface Lease {
  leaseId: string;
  siteId: string;
  sessionId: string;
  visitorId: string;
  requestId: string;
  trackingNumber: string;
  grantedAtMs: number;
  expiresAtMs: number;
}

interface PoolNumber {
  number: string;
  leaseId: string | undefined;
  /** When the number was last released; 0 for never leased. The longest-released free number goes first. */
  releasedAtMs: number;
  /** Visitor of the number's last lease: a returning visitor gets their number back while it is free. */
  lastVisitorId: string | undefined;
}

interface SitePool {
  config: SiteConfigured;
  numbers: Map<string, PoolNumber>;
  /** Derived from the event log, so a rebuilt instance reports the same figures. */
  counters: PoolCounters;
}

interface PoolCounters {
  granted: number;
  /** Requests that found every number leased (rejected or served by reusing a lease). */
  shortages: number;
  /** Most numbers wanted at once: live leases, plus one for a request that found none free. */
  peakDemand: number;
}

export const SHORTAGE_POLICIES = ['default_number', 'overflow_number', 'reuse_oldest'] as const;
export type ShortagePolicy = (typeof SHORTAGE_POLICIES)[number];

export type Decision =
  | { kind: 'granted'; payload: EventInput<'LeaseGranted'> }
  | { kind: 'rejected'; payload: EventInput<'LeaseRejected'> }
  /** The request was already answered (redelivered command): nothing new to publish. */
  | { kind: 'duplicate' };

export const DEFAULT_LEASE_TTL_SECONDS = 900;

/**
 * number-pool's state, rebuilt by applying its events in order. decide() is
 * pure with respect to the state: the caller publishes the decision's event
 * and then applies it, so the state only ever reflects what is on Kafka.
 */
export class PoolState {
  private readonly sites = new Map<string, SitePool>();
  private readonly leases = new Map<string, Lease>();
  // Answered request ids of live leases and recent rejections: a redelivered command must not take a second number.
  private readonly answered = new Map<string, string>();

  apply(event: DomainEvent): void {
    switch (event.type) {
      case 'SiteConfigured':
        this.configure(event.siteId, event.payload as SiteConfigured);
        break;
      case 'LeaseGranted': {
        const p = event.payload as calltrack.events.v1.LeaseGranted;
        const lease: Lease = {
          leaseId: p.leaseId,
          siteId: event.siteId,
          sessionId: p.sessionId,
          visitorId: p.visitorId,
          requestId: p.requestId,
          trackingNumber: p.trackingNumber,
          grantedAtMs: Number(p.grantedAtMs),
          expiresAtMs: Number(p.expiresAtMs),
        };
        // Under the reuse policy the new lease takes over a live one, which ends here.
        if (p.reusedLeaseId) this.leases.delete(p.reusedLeaseId);
        this.leases.set(lease.leaseId, lease);
        this.answered.set(p.requestId, lease.leaseId);
        const site = this.sites.get(event.siteId);
        if (site) {
          site.counters.granted += 1;
          if (p.reusedLeaseId) {
            site.counters.shortages += 1;
            site.counters.peakDemand = Math.max(site.counters.peakDemand, this.leasedCount(site) + 1);
          }
        }
        const n = site?.numbers.get(p.trackingNumber);
        if (n) {
          n.leaseId = lease.leaseId;
          n.lastVisitorId = lease.visitorId;
        }
        if (site) site.counters.peakDemand = Math.max(site.counters.peakDemand, this.leasedCount(site));
        break;
      }
      case 'LeaseRejected': {
        const p = event.payload as calltrack.events.v1.LeaseRejected;
        this.answered.set(p.requestId, '');
        const site = this.sites.get(event.siteId);
        if (site && p.reason === 'pool_exhausted') {
          site.counters.shortages += 1;
          site.counters.peakDemand = Math.max(site.counters.peakDemand, this.leasedCount(site) + 1);
        }
        break;
      }
      case 'LeaseExtended': {
        const p = event.payload as calltrack.events.v1.LeaseExtended;
        const lease = this.leases.get(p.leaseId);
        if (lease) lease.expiresAtMs = Math.max(lease.expiresAtMs, Number(p.expiresAtMs));
        break;
      }
      case 'LeaseExpired': {
        const p = event.payload as calltrack.events.v1.LeaseExpired;
        const lease = this.leases.get(p.leaseId);
        if (!lease) break;
        this.leases.delete(p.leaseId);
        this.answered.delete(lease.requestId);
        const n = this.sites.get(event.siteId)?.numbers.get(p.trackingNumber);
        if (n && n.leaseId === p.leaseId) {
          n.leaseId = undefined;
          n.releasedAtMs = Number(p.releasedAtMs);
        }
        break;
      }
      default:
        break;
    }
  }

  private configure(siteId: string, config: SiteConfigured): void {
    const previous = this.sites.get(siteId);
    const numbers = new Map<string, PoolNumber>();
    for (const number of config.poolNumbers) {
      // A number that stays in the pool keeps its lease and release time.
      numbers.set(number, previous?.numbers.get(number) ?? { number, leaseId: undefined, releasedAtMs: 0, lastVisitorId: undefined });
    }
    // Live leases hold their numbers whatever order the site and lease events were read in
    // (a rebuild reads two topics). Leases on numbers removed from the pool stay live until
    // they expire: the visitor still sees the number.
    for (const lease of this.leases.values()) {
      const n = lease.siteId === siteId ? numbers.get(lease.trackingNumber) : undefined;
      if (n) {
        n.leaseId = lease.leaseId;
        n.lastVisitorId = lease.visitorId;
      }
    }
    this.sites.set(siteId, { config, numbers, counters: previous?.counters ?? { granted: 0, shortages: 0, peakDemand: 0 } });
  }

  hasSite(siteId: string): boolean {
    return this.sites.has(siteId);
  }

  decide(siteId: string, request: calltrack.events.v1.LeaseRequested, nowMs: number): Decision {
    if (this.answered.has(request.requestId)) return { kind: 'duplicate' };
    const site = this.sites.get(siteId);
    const base = { requestId: request.requestId, sessionId: request.sessionId, visitorId: request.visitorId };
    if (!site) return { kind: 'rejected', payload: { ...base, reason: 'unknown_site', fallbackNumber: '' } };
    let best: PoolNumber | undefined;
    for (const n of site.numbers.values()) {
      if (n.leaseId !== undefined) continue;
      // Sticky: the number this visitor saw last time, if nobody took it since.
      if (request.visitorId && n.lastVisitorId === request.visitorId) {
        best = n;
        break;
      }
      if (!best || n.releasedAtMs < best.releasedAtMs || (n.releasedAtMs === best.releasedAtMs && n.number < best.number)) best = n;
    }
    const ttl = (site.config.leaseTtlSeconds || DEFAULT_LEASE_TTL_SECONDS) * 1000;
    const grant = (trackingNumber: string, reusedLeaseId = ''): Decision => ({
      kind: 'granted',
      payload: { ...base, leaseId: request.requestId, trackingNumber, grantedAtMs: nowMs, expiresAtMs: nowMs + ttl, reusedLeaseId },
    });
    if (best) return grant(best.number);
    if (site.numbers.size === 0) return { kind: 'rejected', payload: { ...base, reason: 'pool_empty', fallbackNumber: site.config.defaultNumber } };
    const policy = (site.config.shortagePolicy || 'default_number') as ShortagePolicy;
    if (policy === 'reuse_oldest') {
      const oldest = this.liveLeases(siteId)
        .filter((l) => site.numbers.get(l.trackingNumber)?.leaseId === l.leaseId)
        .sort((a, b) => a.grantedAtMs - b.grantedAtMs)[0];
      if (oldest) return grant(oldest.trackingNumber, oldest.leaseId);
    }
    const fallbackNumber = policy === 'overflow_number' && site.config.overflowNumber ? site.config.overflowNumber : site.config.defaultNumber;
    return { kind: 'rejected', payload: { ...base, reason: 'pool_exhausted', fallbackNumber } };
  }

  /**
   * A heartbeat: the live lease of this session is held for another tail from now.
   * Nothing to do for a lease that already ended (the tracker then starts a new
   * session) or that belongs to another session.
   */
  decideExtension(siteId: string, request: calltrack.events.v1.LeaseExtendRequested, nowMs: number): EventInput<'LeaseExtended'> | undefined {
    const lease = this.leases.get(request.leaseId);
    if (!lease || lease.siteId !== siteId || lease.sessionId !== request.sessionId) return undefined;
    const site = this.sites.get(siteId);
    const tail = (site?.config.leaseTtlSeconds || DEFAULT_LEASE_TTL_SECONDS) * 1000;
    const expiresAtMs = nowMs + tail;
    // Only a real move of the tail is an event; frequent heartbeats within a second are not.
    if (expiresAtMs - lease.expiresAtMs < 1000) return undefined;
    return { leaseId: lease.leaseId, sessionId: lease.sessionId, trackingNumber: lease.trackingNumber, expiresAtMs };
  }

  private leasedCount(site: SitePool): number {
    let n = 0;
    for (const number of site.numbers.values()) if (number.leaseId !== undefined) n += 1;
    return n;
  }

  /** Leases whose time is up, oldest first. */
  dueForExpiry(nowMs: number): Lease[] {
    return [...this.leases.values()].filter((l) => l.expiresAtMs <= nowMs).sort((a, b) => a.expiresAtMs - b.expiresAtMs);
  }

  liveLeases(siteId?: string): Lease[] {
    return [...this.leases.values()].filter((l) => siteId === undefined || l.siteId === siteId);
  }

  siteStats(siteId: string): SiteStats | undefined {
    const site = this.sites.get(siteId);
    if (!site) return undefined;
    const leased = this.leasedCount(site);
    const { granted, shortages, peakDemand } = site.counters;
    return {
      poolSize: site.numbers.size,
      leased,
      free: site.numbers.size - leased,
      utilisation: site.numbers.size === 0 ? 0 : Math.round((leased / site.numbers.size) * 1000) / 1000,
      defaultNumber: site.config.defaultNumber,
      leaseTtlSeconds: site.config.leaseTtlSeconds || DEFAULT_LEASE_TTL_SECONDS,
      shortagePolicy: (site.config.shortagePolicy || 'default_number') as ShortagePolicy,
      granted,
      shortages,
      peakDemand,
      recommendedPoolSize: recommendedPoolSize(peakDemand),
    };
  }
}

export interface SiteStats {
  poolSize: number;
  leased: number;
  free: number;
  /** Leased share of the pool now, 0..1. */
  utilisation: number;
  defaultNumber: string;
  leaseTtlSeconds: number;
  shortagePolicy: ShortagePolicy;
  granted: number;
  shortages: number;
  peakDemand: number;
  recommendedPoolSize: number;
}

/**
 * Pool size for the measured peak: the peak plus 20 % headroom (peaks of the next
 * days vary) plus one number so a shortage is not the norm at the peak itself.
 */
export function recommendedPoolSize(peakDemand: number): number {
  return peakDemand === 0 ? 0 : Math.ceil(peakDemand * 1.2) + 1;
}
