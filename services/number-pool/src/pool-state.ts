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
}

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
        this.leases.set(lease.leaseId, lease);
        this.answered.set(p.requestId, lease.leaseId);
        const n = this.sites.get(event.siteId)?.numbers.get(p.trackingNumber);
        if (n) {
          n.leaseId = lease.leaseId;
          n.lastVisitorId = lease.visitorId;
        }
        break;
      }
      case 'LeaseRejected': {
        const p = event.payload as calltrack.events.v1.LeaseRejected;
        this.answered.set(p.requestId, '');
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
    this.sites.set(siteId, { config, numbers });
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
    if (!best) {
      const reason = site.numbers.size === 0 ? 'pool_empty' : 'pool_exhausted';
      return { kind: 'rejected', payload: { ...base, reason, fallbackNumber: site.config.defaultNumber } };
    }
    const ttl = (site.config.leaseTtlSeconds || DEFAULT_LEASE_TTL_SECONDS) * 1000;
    return {
      kind: 'granted',
      payload: {
        ...base,
        leaseId: request.requestId,
        trackingNumber: best.number,
        grantedAtMs: nowMs,
        expiresAtMs: nowMs + ttl,
      },
    };
  }

  /** Leases whose time is up, oldest first. */
  dueForExpiry(nowMs: number): Lease[] {
    return [...this.leases.values()].filter((l) => l.expiresAtMs <= nowMs).sort((a, b) => a.expiresAtMs - b.expiresAtMs);
  }

  liveLeases(siteId?: string): Lease[] {
    return [...this.leases.values()].filter((l) => siteId === undefined || l.siteId === siteId);
  }

  siteStats(siteId: string): { poolSize: number; leased: number; free: number; defaultNumber: string; leaseTtlSeconds: number } | undefined {
    const site = this.sites.get(siteId);
    if (!site) return undefined;
    const leased = [...site.numbers.values()].filter((n) => n.leaseId !== undefined).length;
    return {
      poolSize: site.numbers.size,
      leased,
      free: site.numbers.size - leased,
      defaultNumber: site.config.defaultNumber,
      leaseTtlSeconds: site.config.leaseTtlSeconds || DEFAULT_LEASE_TTL_SECONDS,
    };
  }
}
