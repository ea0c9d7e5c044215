import { createEvent, derivedEventId, type DomainEvent, type EventInput } from '@calltrack/contracts';
import { PoolState } from './pool-state.js';

/**
 * A synthetic pool-events history, decided by the real PoolState as number-pool
 * would decide it: visits ask for numbers, heartbeats extend the leases, pages
 * close, leases expire, calls reach numbers, quarantines end and promo codes are
 * redeemed. For the recovery benchmark (a year of leases) and the snapshot tests.
 */
export interface HistoryOptions {
  /** The sites' configurations (applied first; not part of the emitted log). */
  sites: Array<{ siteId: string; config: EventInput<'SiteConfigured'> }>;
  /** Simulated time of the first visit. */
  startMs: number;
  /** Mean gap between two visits (over all sites). */
  visitEveryMs: number;
  /** Deterministic choices (visitors, page times, calls). */
  seed?: number;
  producer?: string;
}

/** mulberry32: a small seeded generator, so a history is the same on every run. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Visit {
  siteId: string;
  leaseId: string;
  sessionId: string;
  /** Heartbeats left (one a minute while the page is visible), then a final one. */
  beats: number;
  nextBeatMs: number;
}

export class PoolHistory {
  readonly state = new PoolState();
  private readonly rnd: () => number;
  private readonly producer: string;
  private now: number;
  private n = 0;
  private readonly visits: Visit[] = [];

  constructor(private readonly options: HistoryOptions) {
    this.rnd = random(options.seed ?? 1);
    this.producer = options.producer ?? 'pool-history';
    this.now = options.startMs;
    for (const { siteId, config } of options.sites) this.state.apply(createEvent('SiteConfigured', config, { siteId, producer: this.producer }));
  }

  get nowMs(): number {
    return this.now;
  }

  /** The next events, in log order (at least `count`, a step's events are not split). */
  next(count: number): DomainEvent[] {
    const out: DomainEvent[] = [];
    while (out.length < count) this.step(out);
    return out;
  }

  /** The events of the history up to a simulated time. */
  until(endMs: number): DomainEvent[] {
    const out: DomainEvent[] = [];
    while (this.now < endMs) this.step(out);
    return out;
  }

  /**
   * Ends the history at a time: open pages are closed, and every lease and
   * quarantine due by then ends, as the sweep would (long leases stay live).
   */
  drain(atMs: number): DomainEvent[] {
    const out: DomainEvent[] = [];
    this.visits.length = 0;
    this.now = Math.max(this.now, atMs);
    this.sweep(out, this.now);
    return out;
  }

  private sweep(out: DomainEvent[], now: number): void {
    for (const lease of this.state.dueForExpiry(now)) {
      const payload = {
        leaseId: lease.leaseId,
        sessionId: lease.sessionId,
        trackingNumber: lease.trackingNumber,
        releasedAtMs: lease.expiresAtMs,
        promoCode: lease.promoCode,
      };
      this.emit(
        out,
        createEvent('LeaseExpired', payload, {
          siteId: lease.siteId,
          producer: this.producer,
          eventId: derivedEventId(lease.leaseId, 'expired'),
          occurredAtMs: lease.expiresAtMs,
        }),
      );
    }
    for (const { siteId, payload } of this.state.dueQuarantineEnds(now)) {
      this.emit(out, createEvent('NumberQuarantineEnded', payload, { siteId, producer: this.producer, eventId: `h${this.n++}`, occurredAtMs: now }));
    }
  }

  private emit(out: DomainEvent[], event: DomainEvent): void {
    this.state.apply(event);
    out.push(event);
  }

  private step(out: DomainEvent[]): void {
    // Exponential gaps: a Poisson stream of visits.
    this.now += Math.max(1, Math.round(-Math.log(1 - this.rnd()) * this.options.visitEveryMs));
    const now = this.now;
    // Heartbeats and page closes that are due.
    for (let i = this.visits.length - 1; i >= 0; i -= 1) {
      const v = this.visits[i]!;
      if (v.nextBeatMs > now) continue;
      const final = v.beats === 0;
      const request = { leaseId: v.leaseId, sessionId: v.sessionId, requestedAtMs: v.nextBeatMs, final };
      const ext = this.state.decideExtension(v.siteId, request as never, v.nextBeatMs);
      if (ext)
        this.emit(out, createEvent('LeaseExtended', ext, { siteId: v.siteId, producer: this.producer, eventId: `h${this.n++}`, occurredAtMs: v.nextBeatMs }));
      if (final) this.visits.splice(i, 1);
      else {
        v.beats -= 1;
        v.nextBeatMs += 60_000;
      }
    }
    // The sweep: expired leases, quarantines that are over.
    this.sweep(out, now);
    // The visit.
    const { siteId, config } = this.options.sites[Math.floor(this.rnd() * this.options.sites.length)]!;
    const id = `h${this.n++}`;
    // A third of visits are returning visitors (sticky numbers).
    const visitorId = this.rnd() < 0.33 ? `v${Math.floor(this.rnd() * 2000)}` : `v-${id}`;
    const promo = config.promoCodes !== undefined && config.promoCodes !== null && this.rnd() < 0.1;
    const request = { requestId: id, sessionId: `s-${id}`, visitorId, requestedAtMs: now, method: promo ? 'promo_code' : '' };
    const decision = this.state.decide(siteId, request as never, now);
    if (decision.kind === 'duplicate') return;
    const meta = { siteId, producer: this.producer, eventId: derivedEventId(id, 'answer'), occurredAtMs: now };
    if (decision.kind === 'granted') {
      this.emit(out, createEvent('LeaseGranted', decision.payload, meta));
      // Pages stay open 0-5 minutes: heartbeats every minute, then the close.
      this.visits.push({
        siteId,
        leaseId: decision.payload.leaseId!,
        sessionId: request.sessionId,
        beats: Math.floor(this.rnd() * 5),
        nextBeatMs: now + 60_000,
      });
      // Some visitors call (a call to the number they see), a few call later a number they saw before.
      if (decision.payload.trackingNumber && this.rnd() < 0.05) this.call(out, siteId, decision.payload.trackingNumber, now + 30_000);
      if (decision.payload.promoCode && this.rnd() < 0.3) {
        const redeemed = {
          promoCode: decision.payload.promoCode,
          sessionId: request.sessionId,
          visitorId,
          leaseId: decision.payload.leaseId,
          callId: `call-${id}`,
          callerNumber: '+79161234567',
          calledAtMs: now + 10_000,
          redeemedAtMs: now + 10_000,
          redeemedBy: 'history',
        };
        this.emit(out, createEvent('PromoCodeRedeemed', redeemed, { siteId, producer: this.producer, eventId: `h${this.n++}`, occurredAtMs: now }));
      }
    } else {
      this.emit(out, createEvent('LeaseRejected', decision.payload, meta));
    }
    if (this.rnd() < 0.01) {
      const numbers = config.poolNumbers ?? [];
      const number = numbers[Math.floor(this.rnd() * numbers.length)];
      if (number) this.call(out, siteId, number, now);
    }
  }

  private call(out: DomainEvent[], siteId: string, trackingNumber: string, calledAtMs: number): void {
    const callId = `c${this.n++}`;
    const observed = this.state.observeCall(siteId, { callId, trackingNumber, calledAtMs } as never);
    if (!observed) return;
    this.emit(
      out,
      createEvent('NumberCallObserved', observed, { siteId, producer: this.producer, eventId: derivedEventId(callId, 'observed'), occurredAtMs: calledAtMs }),
    );
  }
}
