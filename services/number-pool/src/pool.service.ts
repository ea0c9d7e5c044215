import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { callDirectionLabel, createEvent, siteKey, TOPICS, type calltrack, type DomainEvent, type EventInput } from '@calltrack/contracts';
import { KafkaBus, partitionOf, ReplayWatermark, type BatchConsumer, type OutgoingRecord } from '@calltrack/kafka';
import { ReadinessService, LOGGER, CONFIG } from '@calltrack/service-kit';
import { context, type Logger } from '@calltrack/telemetry';
import { SERVICE_NAME, type NumberPoolConfig } from './config.js';
import { PoolState, type NumberStateView, type SiteStats } from './pool-state.js';

/** The writer state of one pool-commands partition this instance owns. */
interface OwnedPartition {
  state: PoolState;
  /** Resolves once the partition's pool events have been read back. */
  restored: Promise<void>;
  ready: boolean;
}

/**
 * Owns the pools and their leases, one writer per site: a site's commands and
 * events share a partition number (both topics are keyed by site), and the
 * instance that owns a pool-commands partition is the only one that decides for
 * its sites. On every assignment it rebuilds each partition it gained from that
 * partition of pool-events (the previous owner published all its answers before
 * it let the partition go) and drops those it lost.
 *
 * Besides the writer states, every instance keeps a read view of all sites (the
 * whole pool-events topic, followed) for statistics and promo-code redemption.
 */
@Injectable()
export class PoolService implements OnApplicationBootstrap, OnModuleDestroy {
  /** All sites, all partitions: what the admin API reads. Follows the topics a few ms behind the writers. */
  readonly view: PoolState;
  private readonly owned = new Map<number, OwnedPartition>();
  /** Partition of each site's pool events, learned from the log (for reading a site from its writer state when local). */
  private readonly sitePartition = new Map<string, number>();
  private readonly viewReplayed = new ReplayWatermark();
  private commands: BatchConsumer | undefined;
  private calls: BatchConsumer | undefined;
  private followers: BatchConsumer | undefined;
  private sweeper: NodeJS.Timeout | undefined;
  private viewLoaded = false;
  // Serialises state changes: decisions in a batch and the sweeps must not interleave.
  private lock: Promise<void> = Promise.resolve();
  private pending: OutgoingRecord[] = [];
  private pendingCalls: OutgoingRecord[] = [];
  /** Requests answered "expired" since the last flush, by site (logged once per flush). */
  private readonly expiredInBatch = new Map<string, number>();

  constructor(
    private readonly bus: KafkaBus,
    private readonly readiness: ReadinessService,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(CONFIG) private readonly config: NumberPoolConfig,
  ) {
    this.view = this.newState();
  }

  private newState(partition?: number): PoolState {
    return new PoolState({
      promoRedemptionWindowMs: this.config.PROMO_REDEMPTION_WINDOW_DAYS * 24 * 3600_000,
      holderSharePercent: this.config.POOL_HOLDER_SHARE_PERCENT,
      ...(partition === undefined ? {} : { ownsSite: (siteId: string) => partitionOf(siteKey(siteId), TOPICS.poolCommands.partitions) === partition }),
    });
  }

  async onApplicationBootstrap(): Promise<void> {
    this.readiness.register('state_rebuilt', () => this.viewLoaded && [...this.owned.values()].every((p) => p.ready));
    const started = Date.now();
    // Sites first, then leases: the lease log refers to the pools the sites define.
    let records = 0;
    for (const topic of ['sites', 'poolEvents'] as const) {
      const replayed = await this.bus.replay([topic], (r) => {
        this.viewReplayed.mark(r.topic, r.partition, r.offset);
        if (r.event) this.applyToView(r.event as DomainEvent, r.partition);
      });
      records += replayed.records;
    }
    this.viewLoaded = true;
    this.logger.info({ event: 'pool_view_rebuilt', records, liveLeases: this.view.liveLeases().length, ms: Date.now() - started });

    // Every instance sees every site's configuration and every lease event.
    this.followers = this.bus.consumer({
      groupId: `${SERVICE_NAME}.view`,
      perInstance: true,
      topics: ['sites', 'poolEvents'],
      fromBeginning: true,
      handle: async (record) => {
        if (this.viewReplayed.covers(record.topic, record.partition, record.offset)) return;
        const event = record.event as DomainEvent;
        this.applyToView(event, record.partition);
        // Site configuration changes reach the writer states too (they are not on the partitioned log).
        if (event.type === 'SiteConfigured') await this.exclusive(async () => this.forEachOwned((s) => s.apply(event)));
      },
    });
    this.commands = this.bus.consumer({
      groupId: SERVICE_NAME,
      topics: ['poolCommands'],
      fromBeginning: true,
      onAssignment: (partitions) => this.assign(partitions.get('poolCommands') ?? []),
      // Commands are idempotent against the rebuilt state (answered requests, seen calls): no commit round trip per batch.
      commitIntervalMs: 1000,
      handle: async (record) => {
        const partition = await this.ownedPartition(record.partition);
        const e = record.event;
        if (e.type === 'LeaseRequested') await this.exclusive(async () => this.decide(partition.state, e));
        else if (e.type === 'LeaseExtendRequested') await this.exclusive(async () => this.extend(partition.state, e));
        else if (e.type === 'LeaseReleaseRequested') await this.exclusive(async () => this.release(partition.state, e));
        else if (e.type === 'NumberCallReported') await this.exclusive(async () => this.observeCall(partition.state, e));
      },
      flush: () => this.exclusive(() => this.publishPending()),
    });
    // Calls are keyed by call, not by site: each becomes a command on the site's partition, so its writer sees it in order.
    this.calls = this.bus.consumer({
      groupId: `${SERVICE_NAME}.calls`,
      topics: ['calls'],
      fromBeginning: true,
      handle: async (record) => {
        if (record.event.type !== 'CallReported') return;
        const call = record.event.payload;
        if (!call.trackingNumber || callDirectionLabel(call.direction) === 'outbound') return;
        const command = createEvent(
          'NumberCallReported',
          { callId: call.callId, trackingNumber: call.trackingNumber, calledAtMs: Number(call.startedAtMs) || record.event.occurredAtMs },
          { siteId: record.event.siteId, producer: SERVICE_NAME, causationId: record.event.eventId, eventId: `${call.callId}:number-call` },
        );
        this.pendingCalls.push({ topic: 'poolCommands', key: siteKey(record.event.siteId), event: command, traceContext: context.active() });
      },
      flush: async () => {
        if (this.pendingCalls.length === 0) return;
        await this.bus.producer.publishMany(this.pendingCalls);
        this.pendingCalls = [];
      },
    });
    await Promise.all([this.followers.start(), this.commands.start(), this.calls.start()]);
    this.sweeper = setInterval(() => void this.sweep(), this.config.EXPIRY_SWEEP_INTERVAL_MS);
  }

  async onModuleDestroy(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    await Promise.all([this.commands?.stop(), this.calls?.stop(), this.followers?.stop()]);
  }

  private applyToView(event: DomainEvent, partition: number): void {
    if (event.type !== 'SiteConfigured') this.sitePartition.set(event.siteId, partition);
    this.view.apply(event);
  }

  private forEachOwned(fn: (state: PoolState) => void): void {
    for (const p of this.owned.values()) fn(p.state);
  }

  /** A new assignment of pool-commands partitions: drop the lost ones, rebuild the gained ones. */
  private assign(partitions: readonly number[]): void {
    const mine = new Set(partitions);
    for (const p of [...this.owned.keys()]) {
      if (!mine.has(p)) {
        this.owned.delete(p);
        this.logger.info({ event: 'pool_partition_released', partition: p });
      }
    }
    for (const p of mine) if (!this.owned.has(p)) this.restore(p);
  }

  private restore(partition: number): OwnedPartition {
    const entry: OwnedPartition = { state: this.newState(partition), restored: Promise.resolve(), ready: false };
    this.owned.set(partition, entry);
    const started = Date.now();
    const seed = () => {
      // The sites as this instance knows them now; later changes reach the state through the follower.
      for (const siteId of this.view.siteIds()) {
        const config = this.view.siteConfig(siteId)!;
        entry.state.apply(createEvent('SiteConfigured', config, { siteId, producer: SERVICE_NAME }));
      }
    };
    seed();
    entry.restored = this.bus
      .replay(['poolEvents'], (r) => {
        if (r.event) entry.state.apply(r.event as DomainEvent);
      }, {
        partitions: (_topic, p) => p === partition,
        onRestart: () => {
          entry.state = this.newState(partition);
          seed();
        },
      })
      .then(({ records }) => {
        entry.ready = true;
        this.logger.info({ event: 'pool_partition_restored', partition, records, liveLeases: entry.state.liveLeases().length, ms: Date.now() - started });
      });
    return entry;
  }

  private async ownedPartition(partition: number): Promise<OwnedPartition> {
    // A batch can only come from an assigned partition, and onAssignment ran before it.
    const entry = this.owned.get(partition) ?? this.restore(partition);
    await entry.restored;
    return entry;
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn);
    this.lock = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private async decide(state: PoolState, command: DomainEvent<'LeaseRequested'>): Promise<void> {
    const decision = state.decide(command.siteId, command.payload, Date.now());
    if (decision.kind === 'duplicate') return;
    const meta = { siteId: command.siteId, producer: SERVICE_NAME, causationId: command.eventId, eventId: `${command.eventId}:answer` };
    const event = decision.kind === 'granted' ? createEvent('LeaseGranted', decision.payload, meta) : createEvent('LeaseRejected', decision.payload, meta);
    // Applied now so the next request of the batch sees the number as taken; published in flush, before the commit.
    state.apply(event);
    // Published later in flush(): keep this record's trace so the answer continues the session's trace.
    this.pending.push({ topic: 'poolEvents', key: siteKey(command.siteId), event, traceContext: context.active() });
    if (decision.kind === 'rejected' && decision.payload.reason === 'expired') {
      // A backlog after an outage can hold thousands: one line per flush, the count is in the pool statistics.
      this.expiredInBatch.set(command.siteId, (this.expiredInBatch.get(command.siteId) ?? 0) + 1);
    } else if (decision.kind === 'rejected' && decision.payload.reason === 'holder_share') {
      // A holder-share answer is the limit working (counted in the site's stats), not a shortage: no warning line per request.
      this.logger.debug({ event: 'lease_holder_share', site_id: command.siteId });
    } else if (decision.kind === 'rejected') {
      this.logger.warn({ event: 'lease_rejected', site_id: command.siteId, reason: decision.payload.reason });
    }
  }

  /** session-tracker got the grant after its visitor saw the default number: the lease ends at once. */
  private async release(state: PoolState, command: DomainEvent<'LeaseReleaseRequested'>): Promise<void> {
    const released = state.decideRelease(command.siteId, command.payload);
    if (!released) return;
    const event = createEvent('LeaseExpired', released, { siteId: command.siteId, producer: SERVICE_NAME, causationId: command.eventId, eventId: `${released.leaseId}:expired`, occurredAtMs: Date.now() });
    state.apply(event);
    this.pending.push({ topic: 'poolEvents', key: siteKey(command.siteId), event, traceContext: context.active() });
    this.logger.warn({ event: 'lease_released_undelivered', site_id: command.siteId, lease_id: released.leaseId });
  }

  private async extend(state: PoolState, command: DomainEvent<'LeaseExtendRequested'>): Promise<void> {
    const extension = state.decideExtension(command.siteId, command.payload, Date.now());
    if (!extension) return;
    const event = createEvent('LeaseExtended', extension, { siteId: command.siteId, producer: SERVICE_NAME, causationId: command.eventId, eventId: `${command.eventId}:answer` });
    state.apply(event);
    this.pending.push({ topic: 'poolEvents', key: siteKey(command.siteId), event, traceContext: context.active() });
  }

  private async observeCall(state: PoolState, command: DomainEvent<'NumberCallReported'>): Promise<void> {
    const observed = state.observeCall(command.siteId, command.payload);
    if (!observed) return;
    const event = createEvent('NumberCallObserved', observed, {
      siteId: command.siteId,
      producer: SERVICE_NAME,
      causationId: command.eventId,
      eventId: `${command.payload.callId}:observed`,
      occurredAtMs: Number(command.payload.calledAtMs) || undefined,
    });
    state.apply(event);
    this.pending.push({ topic: 'poolEvents', key: siteKey(command.siteId), event, traceContext: context.active() });
    if (observed.numberState !== 'leased') {
      this.logger.info({ event: 'call_to_idle_number', site_id: command.siteId, number: observed.trackingNumber, number_state: observed.numberState, call_id: observed.callId });
    }
  }

  private async publishPending(): Promise<void> {
    if (this.pending.length === 0) return;
    await this.bus.producer.publishMany(this.pending);
    this.pending = [];
    for (const [siteId, count] of this.expiredInBatch) this.logger.warn({ event: 'lease_requests_expired', site_id: siteId, count });
    this.expiredInBatch.clear();
  }

  /** Releases expired leases and ends quarantines that are over, for the partitions this instance owns. */
  private async sweep(): Promise<void> {
    await this.exclusive(async () => {
      const now = Date.now();
      for (const entry of this.owned.values()) {
        if (!entry.ready) continue;
        const { state } = entry;
        const events: DomainEvent[] = state.dueForExpiry(now).map((lease) =>
          createEvent(
            'LeaseExpired',
            { leaseId: lease.leaseId, sessionId: lease.sessionId, trackingNumber: lease.trackingNumber, releasedAtMs: lease.expiresAtMs, promoCode: lease.promoCode },
            { siteId: lease.siteId, producer: SERVICE_NAME, eventId: `${lease.leaseId}:expired`, occurredAtMs: lease.expiresAtMs },
          ),
        );
        for (const { siteId, payload } of state.dueQuarantineEnds(now)) {
          events.push(createEvent('NumberQuarantineEnded', payload, { siteId, producer: SERVICE_NAME, eventId: `${siteId}:${payload.trackingNumber}:${payload.quarantinedFromMs}:quarantine-ended` }));
        }
        if (events.length === 0) continue;
        try {
          await this.bus.producer.publishMany(events.map((event) => ({ topic: 'poolEvents' as const, key: siteKey(event.siteId), event })));
          for (const e of events) state.apply(e);
        } catch (err) {
          // Nothing applied: the next sweep tries again.
          this.logger.error({ event: 'pool_sweep_publish_failed', count: events.length, err });
        }
      }
    });
  }

  /** The freshest state holding a site: this instance's writer state if it owns the site, else the view. */
  private stateOf(siteId: string): PoolState {
    const p = this.sitePartition.get(siteId);
    const entry = p === undefined ? undefined : this.owned.get(p);
    return entry?.ready && entry.state.hasSite(siteId) ? entry.state : this.view;
  }

  /** The pool-commands partitions this instance decides for (operators, tests). */
  ownership(): { partitions: number[]; restoring: number[] } {
    const partitions = [...this.owned.keys()].sort((a, b) => a - b);
    return { partitions, restoring: partitions.filter((p) => !this.owned.get(p)!.ready) };
  }

  siteStats(siteId: string): SiteStats | undefined {
    return this.stateOf(siteId).siteStats(siteId);
  }

  leasesOf(siteId: string) {
    return this.stateOf(siteId).liveLeases(siteId);
  }

  numberStates(siteId: string): NumberStateView[] | undefined {
    return this.stateOf(siteId).numberStates(siteId, Date.now());
  }

  siteConfig(siteId: string): calltrack.events.v1.SiteConfigured | undefined {
    return this.view.siteConfig(siteId);
  }

  async configureSite(siteId: string, config: EventInput<'SiteConfigured'>): Promise<void> {
    const event = createEvent('SiteConfigured', config, { siteId, producer: SERVICE_NAME });
    await this.bus.producer.publish('sites', siteKey(siteId), event);
  }

  /**
   * Links a call to the session that was shown a promo code. The same call and
   * code again is answered with the first link; a call linked to another code is a conflict.
   */
  async redeemPromoCode(siteId: string, code: string, call: { callId: string; callerNumber: string; calledAtMs: number; redeemedBy: string }): Promise<RedeemResult> {
    const state = this.stateOf(siteId);
    if (!state.hasSite(siteId)) return { kind: 'unknown_site' };
    const linked = state.redemptionOf(siteId, call);
    if (linked && linked !== code) return { kind: 'conflict', code: linked };
    const holder = state.findPromoHolder(siteId, code, call.calledAtMs);
    if (!holder) return { kind: 'not_found' };
    const payload: EventInput<'PromoCodeRedeemed'> = {
      promoCode: code,
      sessionId: holder.sessionId,
      visitorId: holder.visitorId,
      leaseId: holder.leaseId,
      callId: call.callId,
      callerNumber: call.callerNumber,
      calledAtMs: call.calledAtMs,
      redeemedAtMs: Date.now(),
      redeemedBy: call.redeemedBy,
    };
    if (linked) return { kind: 'redeemed', redemption: payload, duplicate: true };
    const key = call.callId ? `call:${call.callId}` : `caller:${call.callerNumber}@${call.calledAtMs}`;
    const event = createEvent('PromoCodeRedeemed', payload, { siteId, producer: SERVICE_NAME, eventId: `${siteId}:${key}:promo` });
    await this.bus.producer.publish('poolEvents', siteKey(siteId), event);
    // Read-your-writes for this instance: a second redemption right after sees the first.
    state.apply(event);
    if (state !== this.view) this.view.apply(event);
    return { kind: 'redeemed', redemption: payload, duplicate: false };
  }
}

export type RedeemResult =
  | { kind: 'redeemed'; redemption: EventInput<'PromoCodeRedeemed'>; duplicate: boolean }
  | { kind: 'not_found' }
  | { kind: 'unknown_site' }
  | { kind: 'conflict'; code: string };
