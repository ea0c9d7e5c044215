import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import {
  callDirectionLabel,
  createEvent,
  derivedEventId,
  siteKey,
  topicName,
  TOPICS,
  WriterFences,
  type calltrack,
  type AnyDomainEvent,
  type DomainEvent,
  type EventInput,
} from '@calltrack/contracts';
import { KafkaBus, partitionOf, ReplayWatermark, type BatchConsumer, type CompactedTopicFollower, type OutgoingRecord } from '@calltrack/kafka';
import { ReadinessService, LOGGER, CONFIG } from '@calltrack/service-kit';
import { context, counter, type Logger } from '@calltrack/telemetry';
import { SERVICE_NAME, type NumberPoolConfig } from './config.js';
import { PoolState, type NumberStateView, type SiteStats } from './pool-state.js';
import { SnapshotCatalog, snapshotChunks, snapshotSiteId, type LoadedSnapshot } from './pool-snapshots.js';

/** The writer state of one pool-commands partition this instance owns. */
interface OwnedPartition {
  partition: number;
  state: PoolState;
  /** Resolves once the partition's pool events have been read back. */
  restored: Promise<void>;
  ready: boolean;
  /** Event id of this owner's PoolWriterClaimed on the partition. */
  claimId: string;
  /** This owner's writer epoch (its claim's offset + 1), stamped on every event it writes. */
  epoch: number;
  /**
   * Last pool-events offset of the partition the writer state includes: set by the
   * rebuild, then moved by the follower as it reads the partition (this owner's own
   * events, already applied when decided, and events others wrote, applied then).
   */
  logOffset: bigint;
  /** Events this owner decided that the follower has not read back yet. */
  unseen: Set<string>;
  /** Records the follower read while the partition was being rebuilt. */
  early: Array<{ offset: bigint; event: DomainEvent }>;
  /** The latest snapshot of the partition: its covered offset, when it was taken and its record keys. */
  snapshotOffset: bigint;
  snapshotAtMs: number;
  snapshotKeys: string[];
  snapshotting: boolean;
  /** How the partition was rebuilt: from which snapshot offset (null: none), and how many pool-events records were read. */
  restoredFrom: { snapshotOffset: string | null; records: number } | undefined;
}

/** A record key that the producer's partitioner puts on the given partition (for records that belong to a partition, not a site). */
function partitionKey(prefix: string, partition: number, partitions: number): string {
  for (let i = 0; ; i += 1) {
    const key = `${prefix}:${partition}:${i}`;
    if (partitionOf(key, partitions) === partition) return key;
  }
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
 * sites topic and the whole pool-events topic, followed) for statistics and
 * promo-code redemption.
 */
@Injectable()
export class PoolService implements OnApplicationBootstrap, OnModuleDestroy {
  /** All sites, all partitions: what the admin API reads. Follows the topics a few ms behind the writers. */
  readonly view: PoolState;
  private readonly owned = new Map<number, OwnedPartition>();
  /** The sites (the pools they define) as every instance keeps them whole: replayed at start, then followed. */
  private readonly sites: CompactedTopicFollower;
  /** Partition of each site's pool events, learned from the log (for reading a site from its writer state when local). */
  private readonly sitePartition = new Map<string, number>();
  private readonly viewReplayed = new ReplayWatermark();
  /** Writer fences of pool-events as the view read them: events of a fenced-off former owner are not applied. */
  private readonly viewFences = new WriterFences();
  private readonly instanceId = `${hostname()}/${process.pid}/${randomUUID().slice(0, 8)}`;
  /** The pool-snapshots topic as read for the current assignment (read once, used by every gained partition). */
  private snapshotRead: Promise<SnapshotCatalog> | undefined;
  private stopping = false;
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
    this.sites = bus.replayThenFollow({
      name: 'sites',
      topics: ['sites'],
      groupId: `${SERVICE_NAME}.sites`,
      apply: async ({ event, partition, phase }) => {
        if (!event) return;
        this.applyToView(event, partition);
        // Site configuration changes reach the writer states too (they are not on the partitioned log);
        // during the replay there is none yet (the commands consumer starts after it).
        if (phase === 'follow' && event.type === 'SiteConfigured') await this.exclusive(async () => this.forEachOwned((s) => s.apply(event)));
      },
    });
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
    // Sites first, then leases: the lease log refers to the pools the sites define. Following the
    // sites starts with their replay; the rest goes on once it is read (the group joins meanwhile).
    const followingSites = this.sites.start();
    // Awaited below with the other consumers; a start failing before then is not an unhandled rejection.
    followingSites.catch(() => undefined);
    await Promise.race([followingSites, this.sites.whenReady()]);
    // Each partition of pool events from its latest snapshot on (the whole partition when there is none).
    const covered = await this.viewFromSnapshots();
    // Not replayThenFollow: pool-events is a log (delete policy) read from each partition's snapshot on,
    // under writer fences, and what the view follows of it reaches the writer states too.
    const events = await this.bus.replay(
      ['poolEvents'],
      (r) => {
        this.viewReplayed.mark(r.topic, r.partition, r.offset);
        if (r.event && this.viewFences.admit(r.partition, r.offset, r.event)) this.applyToView(r.event, r.partition);
      },
      { startOffset: (_topic, p) => (covered.has(p) ? covered.get(p)! + 1n : undefined) },
    );
    this.viewLoaded = true;
    this.logger.info({
      event: 'pool_view_rebuilt',
      records: this.sites.replayed + events.records,
      snapshots: covered.size,
      liveLeases: this.view.liveLeases().length,
      ms: Date.now() - started,
    });

    // Every instance sees every lease event (and, through this.sites, every site's configuration).
    this.followers = this.bus.consumer({
      groupId: `${SERVICE_NAME}.view`,
      perInstance: true,
      topics: ['poolEvents'],
      fromBeginning: true,
      handle: async (record) => {
        if (this.viewReplayed.covers(record.topic, record.partition, record.offset)) return;
        const event = record.event as DomainEvent;
        if (!this.viewFences.admit(record.partition, record.offset, event)) {
          this.logger.warn({
            event: 'pool_event_fenced',
            partition: record.partition,
            offset: record.offset,
            type: event.type,
            event_id: event.eventId,
            writer_epoch: event.writerEpoch,
          });
          return;
        }
        this.followWriter(record.partition, BigInt(record.offset), event);
        this.applyToView(event, record.partition);
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
        if (e.type === 'LeaseRequested') await this.exclusive(async () => this.decide(partition, e));
        else if (e.type === 'LeaseExtendRequested') await this.exclusive(async () => this.extend(partition, e));
        else if (e.type === 'LeaseReleaseRequested') await this.exclusive(async () => this.release(partition, e));
        else if (e.type === 'NumberCallReported') await this.exclusive(async () => this.observeCall(partition, e));
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
          { siteId: record.event.siteId, producer: SERVICE_NAME, causationId: record.event.eventId, eventId: derivedEventId(call.callId, 'number-call') },
        );
        this.pendingCalls.push({ topic: 'poolCommands', key: siteKey(record.event.siteId), event: command, traceContext: context.active() });
      },
      flush: async () => {
        if (this.pendingCalls.length === 0) return;
        await this.bus.producer.publishMany(this.pendingCalls);
        this.pendingCalls = [];
      },
    });
    await Promise.all([followingSites, this.followers.start(), this.commands.start(), this.calls.start()]);
    this.sweeper = setInterval(() => {
      void this.sweep();
      this.snapshotDue(Date.now());
    }, this.config.EXPIRY_SWEEP_INTERVAL_MS);
  }

  async onModuleDestroy(): Promise<void> {
    this.stopping = true;
    if (this.sweeper) clearInterval(this.sweeper);
    // Decisions end first (the batch in progress is answered and flushed); then each partition's
    // state is snapshotted while the follower still reads back what was published, so the next
    // owner starts from here.
    await Promise.all([this.commands?.stop(), this.calls?.stop()]);
    await Promise.all(
      [...this.owned.values()].map((entry) =>
        this.takeSnapshot(entry, 'shutdown').catch((err: unknown) =>
          this.logger.error({ event: 'pool_snapshot_failed', partition: entry.partition, reason: 'shutdown', err }),
        ),
      ),
    );
    await Promise.all([this.sites.stop(), this.followers?.stop()]);
  }

  /** Loads each partition's latest snapshot into the read view; returns the offset each covers. */
  private async viewFromSnapshots(): Promise<Map<number, bigint>> {
    const covered = new Map<number, bigint>();
    const catalog = new SnapshotCatalog();
    // A one-shot read: the view follows pool-events from these snapshots on, not the snapshots.
    await this.bus.replay(['poolSnapshots'], (r) => catalog.add(r.key, r.event));
    for (let p = 0; p < TOPICS.poolEvents.partitions; p += 1) {
      let snapshot: LoadedSnapshot | undefined;
      try {
        snapshot = catalog.latest(p);
      } catch (err) {
        this.logger.error({ event: 'pool_snapshot_unreadable', partition: p, err });
      }
      if (!snapshot) continue;
      this.view.restoreSnapshot(snapshot.document.state);
      for (const siteId of Object.keys(snapshot.document.state.sites)) this.sitePartition.set(siteId, p);
      this.viewFences.set(p, snapshot.document.fence);
      if (snapshot.coveredOffset >= 0n) this.viewReplayed.mark('poolEvents', p, String(snapshot.coveredOffset));
      covered.set(p, snapshot.coveredOffset);
    }
    return covered;
  }

  private applyToView(event: DomainEvent, partition: number): void {
    if (event.type === 'PoolWriterClaimed' || event.type === 'PoolSnapshotChunk') return;
    if (event.type !== 'SiteConfigured') this.sitePartition.set(event.siteId, partition);
    this.view.apply(event);
  }

  /**
   * The follower read a pool event of a partition this instance may write for:
   * events others wrote (a promo redemption through another instance) reach the
   * writer state, this owner's own are only counted as read back, and a claim by
   * another instance means this one was fenced off (it stalled and lost the partition).
   */
  private followWriter(partition: number, offset: bigint, event: DomainEvent): void {
    const entry = this.owned.get(partition);
    if (!entry) return;
    if (!entry.ready) {
      entry.early.push({ offset, event });
      return;
    }
    this.applyFollowed(entry, offset, event);
  }

  private applyFollowed(entry: OwnedPartition, offset: bigint, event: DomainEvent): void {
    if (offset <= entry.logOffset) return;
    entry.logOffset = offset;
    if (event.type === 'PoolWriterClaimed') {
      if (event.eventId !== entry.claimId && this.owned.get(entry.partition) === entry) {
        // Stalled past its session (or a claim that lost a race): if the group still gives this
        // instance the partition's commands, the next batch claims it again and rebuilds from the log.
        this.owned.delete(entry.partition);
        this.logger.warn({
          event: 'pool_partition_fenced',
          partition: entry.partition,
          claimed_by: (event as DomainEvent<'PoolWriterClaimed'>).payload.instanceId,
          offset: String(offset),
        });
      }
      return;
    }
    if (entry.unseen.delete(event.eventId)) return;
    entry.state.apply(event);
  }

  private forEachOwned(fn: (state: PoolState) => void): void {
    for (const p of this.owned.values()) fn(p.state);
  }

  /** A new assignment of pool-commands partitions: drop the lost ones, rebuild the gained ones. */
  private assign(partitions: readonly number[]): void {
    const mine = new Set(partitions);
    // Snapshots are read once per assignment, for all gained partitions.
    this.snapshotRead = undefined;
    for (const p of [...this.owned.keys()]) {
      if (!mine.has(p)) {
        this.owned.delete(p);
        this.logger.info({ event: 'pool_partition_released', partition: p });
      }
    }
    for (const p of mine) if (!this.owned.has(p)) this.restore(p);
  }

  private restore(partition: number): OwnedPartition {
    const entry: OwnedPartition = {
      partition,
      state: this.newState(partition),
      restored: Promise.resolve(),
      ready: false,
      claimId: `${partition}:${randomUUID()}:claim`,
      epoch: 0,
      logOffset: -1n,
      unseen: new Set(),
      early: [],
      snapshotOffset: -1n,
      snapshotAtMs: Date.now(),
      snapshotKeys: [],
      snapshotting: false,
      restoredFrom: undefined,
    };
    this.owned.set(partition, entry);
    entry.restored = this.rebuild(entry).then(
      () => {
        entry.ready = true;
        // What the follower read meanwhile, past what the rebuild covered.
        for (const { offset, event } of entry.early.splice(0)) this.applyFollowed(entry, offset, event);
      },
      (err: unknown) => {
        // The next batch of the partition starts a new rebuild.
        if (this.owned.get(partition) === entry) this.owned.delete(partition);
        this.logger.error({ event: 'pool_partition_restore_failed', partition, err });
        throw err;
      },
    );
    // Awaited by the partition's batches; a failure is logged above.
    entry.restored.catch(() => undefined);
    return entry;
  }

  /** Reads the compacted pool-snapshots topic (once per assignment). */
  private snapshotCatalog(): Promise<SnapshotCatalog> {
    this.snapshotRead ??= (async () => {
      const catalog = new SnapshotCatalog();
      // Not replayThenFollow: read once per assignment, for the rebuild of the partitions gained.
      await this.bus.replay(['poolSnapshots'], (r) => catalog.add(r.key, r.event));
      if (catalog.skipped > 0) this.logger.warn({ event: 'pool_snapshot_chunks_skipped', count: catalog.skipped });
      return catalog;
    })();
    const read = this.snapshotRead;
    // A failed read is tried again by the next rebuild.
    read.catch(() => {
      if (this.snapshotRead === read) this.snapshotRead = undefined;
    });
    return read;
  }

  /**
   * Claims the partition (fencing off a stalled former owner), then rebuilds its
   * writer state from the latest snapshot and the pool events after it (all of
   * them when there is no snapshot), up to and including the claim.
   */
  private async rebuild(entry: OwnedPartition): Promise<void> {
    const { partition } = entry;
    const started = Date.now();
    const claim = createEvent(
      'PoolWriterClaimed',
      { partition, instanceId: this.instanceId },
      { siteId: snapshotSiteId(partition), producer: SERVICE_NAME, eventId: entry.claimId },
    );
    await this.bus.producer.publish('poolEvents', partitionKey('pool-writer', partition, TOPICS.poolEvents.partitions), claim);
    const catalog = await this.snapshotCatalog();
    let snapshot: LoadedSnapshot | undefined;
    try {
      snapshot = catalog.latest(partition);
    } catch (err) {
      // An unreadable snapshot costs time, not correctness: the whole partition is replayed.
      this.logger.error({ event: 'pool_snapshot_unreadable', partition, err });
    }
    let fences = new WriterFences();
    const reset = () => {
      entry.state = this.newState(partition);
      // The sites as this instance knows them now; later changes reach the state through the follower.
      for (const siteId of this.view.siteIds()) {
        const config = this.view.siteConfig(siteId)!;
        entry.state.apply(createEvent('SiteConfigured', config, { siteId, producer: SERVICE_NAME }));
      }
      fences = new WriterFences();
      entry.epoch = 0;
      entry.logOffset = -1n;
      if (snapshot) {
        entry.state.restoreSnapshot(snapshot.document.state);
        fences.set(partition, snapshot.document.fence);
        entry.logOffset = snapshot.coveredOffset;
      }
    };
    reset();
    // Not replayThenFollow: a one-shot rebuild of the partition this instance alone writes; the view's consumer follows it afterwards.
    const { records } = await this.bus.replay(
      ['poolEvents'],
      (r) => {
        entry.logOffset = BigInt(r.offset);
        const event = r.event as DomainEvent | undefined;
        if (!event || !fences.admit(partition, r.offset, event)) return;
        if (event.type === 'PoolWriterClaimed' && event.eventId === entry.claimId) entry.epoch = Number(r.offset) + 1;
        entry.state.apply(event);
      },
      {
        partitions: (_topic, p) => p === partition,
        ...(snapshot ? { startOffset: () => snapshot.coveredOffset + 1n } : {}),
        onRestart: reset,
      },
    );
    if (entry.epoch === 0) throw new Error(`partition ${partition}: this instance's writer claim was not read back`);
    entry.restoredFrom = { snapshotOffset: snapshot ? String(snapshot.coveredOffset) : null, records };
    if (snapshot) {
      entry.snapshotOffset = snapshot.coveredOffset;
      entry.snapshotAtMs = snapshot.takenAtMs;
      entry.snapshotKeys = snapshot.keys;
    }
    this.logger.info({
      event: 'pool_partition_restored',
      partition,
      snapshot_offset: snapshot ? String(snapshot.coveredOffset) : null,
      records,
      epoch: entry.epoch,
      liveLeases: entry.state.liveLeases().length,
      ms: Date.now() - started,
    });
  }

  /**
   * Writes the partition's writer state to pool-snapshots at a batch boundary:
   * nothing decided is waiting to be published, and the follower has read back
   * everything this owner published, so the state is exactly the log up to
   * logOffset. Returns false when there was nothing new or no clean boundary now
   * (the next sweep tries again).
   */
  async takeSnapshot(entry: OwnedPartition, reason: string): Promise<boolean> {
    if (entry.snapshotting || !entry.ready) return false;
    entry.snapshotting = true;
    try {
      const { partition } = entry;
      const captured = await this.exclusive(async () => {
        const owns = () => this.owned.get(partition) === entry;
        if (!owns() || (entry.logOffset <= entry.snapshotOffset && entry.unseen.size === 0)) return undefined;
        if (this.pending.some((r) => partitionOf(r.key, TOPICS.poolEvents.partitions) === partition)) return undefined;
        // Holding the lock, nothing new is decided: wait for the follower to read back what was published.
        const deadline = Date.now() + 5_000;
        while (entry.unseen.size > 0 && owns() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
        if (entry.unseen.size > 0 || !owns() || entry.logOffset <= entry.snapshotOffset) return undefined;
        return { covered: entry.logOffset, document: { state: entry.state.toSnapshot(), fence: entry.epoch } };
      });
      if (!captured) return false;
      const started = Date.now();
      const { snapshotId, chunks } = await snapshotChunks(partition, captured.covered, captured.document, SERVICE_NAME);
      await this.bus.producer.publishMany(chunks.map((c) => ({ topic: 'poolSnapshots' as const, key: c.key, event: c.event })));
      const superseded = entry.snapshotKeys;
      entry.snapshotOffset = captured.covered;
      entry.snapshotAtMs = Date.now();
      entry.snapshotKeys = chunks.map((c) => c.key);
      // The previous snapshot goes only once this one is complete on the topic.
      if (superseded.length > 0) {
        await this.bus.producer.sendRaw(
          topicName('poolSnapshots', this.bus.settings.prefix),
          superseded.map((key) => ({ key, value: null, headers: {} })),
        );
      }
      this.logger.info({
        event: 'pool_snapshot_written',
        partition,
        reason,
        snapshot_id: snapshotId,
        covered_offset: String(captured.covered),
        chunks: chunks.length,
        bytes: chunks.reduce((n, c) => n + c.event.payload.data.length, 0),
        ms: Date.now() - started,
      });
      return true;
    } finally {
      entry.snapshotting = false;
    }
  }

  /** Snapshots the partitions whose log grew by the configured count, or that changed and whose snapshot is older than the interval. */
  private snapshotDue(now: number): void {
    if (this.stopping) return;
    for (const entry of this.owned.values()) {
      if (!entry.ready || entry.snapshotting) continue;
      const grown = entry.logOffset - entry.snapshotOffset;
      const byCount = this.config.POOL_SNAPSHOT_EVERY_RECORDS > 0 && grown >= BigInt(this.config.POOL_SNAPSHOT_EVERY_RECORDS);
      const byTime = this.config.POOL_SNAPSHOT_INTERVAL_MS > 0 && grown > 0n && now - entry.snapshotAtMs >= this.config.POOL_SNAPSHOT_INTERVAL_MS;
      if (!byCount && !byTime) continue;
      void this.takeSnapshot(entry, byCount ? 'records' : 'interval').catch((err: unknown) =>
        this.logger.error({ event: 'pool_snapshot_failed', partition: entry.partition, err }),
      );
    }
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

  private async decide(owner: OwnedPartition, command: DomainEvent<'LeaseRequested'>): Promise<void> {
    const { state } = owner;
    const decision = state.decide(command.siteId, command.payload, Date.now());
    if (decision.kind === 'duplicate') return;
    const meta = {
      siteId: command.siteId,
      producer: SERVICE_NAME,
      causationId: command.eventId,
      eventId: derivedEventId(command.eventId, 'answer'),
      writerEpoch: owner.epoch,
    };
    const event = decision.kind === 'granted' ? createEvent('LeaseGranted', decision.payload, meta) : createEvent('LeaseRejected', decision.payload, meta);
    // Applied now so the next request of the batch sees the number as taken; published in flush, before the commit.
    state.apply(event);
    owner.unseen.add(event.eventId);
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
  private async release(owner: OwnedPartition, command: DomainEvent<'LeaseReleaseRequested'>): Promise<void> {
    const { state } = owner;
    const released = state.decideRelease(command.siteId, command.payload);
    if (!released) return;
    const event = createEvent('LeaseExpired', released, {
      siteId: command.siteId,
      producer: SERVICE_NAME,
      causationId: command.eventId,
      eventId: derivedEventId(released.leaseId, 'expired'),
      occurredAtMs: Date.now(),
      writerEpoch: owner.epoch,
    });
    state.apply(event);
    owner.unseen.add(event.eventId);
    this.pending.push({ topic: 'poolEvents', key: siteKey(command.siteId), event, traceContext: context.active() });
    this.logger.warn({ event: 'lease_released_undelivered', site_id: command.siteId, lease_id: released.leaseId });
  }

  private async extend(owner: OwnedPartition, command: DomainEvent<'LeaseExtendRequested'>): Promise<void> {
    const { state } = owner;
    const extension = state.decideExtension(command.siteId, command.payload, Date.now());
    if (!extension) return;
    const event = createEvent('LeaseExtended', extension, {
      siteId: command.siteId,
      producer: SERVICE_NAME,
      causationId: command.eventId,
      eventId: derivedEventId(command.eventId, 'answer'),
      writerEpoch: owner.epoch,
    });
    state.apply(event);
    owner.unseen.add(event.eventId);
    this.pending.push({ topic: 'poolEvents', key: siteKey(command.siteId), event, traceContext: context.active() });
  }

  private async observeCall(owner: OwnedPartition, command: DomainEvent<'NumberCallReported'>): Promise<void> {
    const { state } = owner;
    const observed = state.observeCall(command.siteId, command.payload);
    if (!observed) return;
    const event = createEvent('NumberCallObserved', observed, {
      siteId: command.siteId,
      producer: SERVICE_NAME,
      causationId: command.eventId,
      eventId: derivedEventId(command.payload.callId, 'observed'),
      occurredAtMs: Number(command.payload.calledAtMs) || undefined,
      writerEpoch: owner.epoch,
    });
    state.apply(event);
    owner.unseen.add(event.eventId);
    this.pending.push({ topic: 'poolEvents', key: siteKey(command.siteId), event, traceContext: context.active() });
    if (observed.numberState !== 'leased') {
      this.logger.info({
        event: 'call_to_idle_number',
        site_id: command.siteId,
        number: observed.trackingNumber,
        number_state: observed.numberState,
        call_id: observed.callId,
      });
    }
  }

  private async publishPending(): Promise<void> {
    if (this.pending.length === 0) return;
    await this.bus.producer.publishMany(this.pending);
    countAnswers(this.pending.map((p) => p.event));
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
            {
              leaseId: lease.leaseId,
              sessionId: lease.sessionId,
              trackingNumber: lease.trackingNumber,
              releasedAtMs: lease.expiresAtMs,
              promoCode: lease.promoCode,
            },
            {
              siteId: lease.siteId,
              producer: SERVICE_NAME,
              eventId: derivedEventId(lease.leaseId, 'expired'),
              occurredAtMs: lease.expiresAtMs,
              writerEpoch: entry.epoch,
            },
          ),
        );
        for (const { siteId, payload } of state.dueQuarantineEnds(now)) {
          events.push(
            createEvent('NumberQuarantineEnded', payload, {
              siteId,
              producer: SERVICE_NAME,
              eventId: derivedEventId(siteId, payload.trackingNumber, payload.quarantinedFromMs, 'quarantine-ended'),
              writerEpoch: entry.epoch,
            }),
          );
        }
        if (events.length === 0) continue;
        for (const e of events) entry.unseen.add(e.eventId);
        try {
          await this.bus.producer.publishMany(events.map((event) => ({ topic: 'poolEvents' as const, key: siteKey(event.siteId), event })));
          for (const e of events) state.apply(e);
          countAnswers(events);
        } catch (err) {
          for (const e of events) entry.unseen.delete(e.eventId);
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

  /** The pool-commands partitions this instance decides for, and how each was rebuilt (operators, tests). */
  ownership(): {
    partitions: number[];
    restoring: number[];
    restored: Array<{ partition: number; epoch: number; snapshotOffset: string | null; records: number }>;
    snapshots: Array<{ partition: number; coveredOffset: string; takenAtMs: number }>;
  } {
    const partitions = [...this.owned.keys()].sort((a, b) => a - b);
    const snapshots = partitions.flatMap((partition) => {
      const entry = this.owned.get(partition)!;
      return entry.snapshotOffset >= 0n ? [{ partition, coveredOffset: String(entry.snapshotOffset), takenAtMs: entry.snapshotAtMs }] : [];
    });
    const restored = partitions.flatMap((partition) => {
      const entry = this.owned.get(partition)!;
      return entry.restoredFrom ? [{ partition, epoch: entry.epoch, ...entry.restoredFrom }] : [];
    });
    return { partitions, restoring: partitions.filter((p) => !this.owned.get(p)!.ready), restored, snapshots };
  }

  /** The writer state of each partition this instance owns and has rebuilt, as snapshot data (tests compare it with a full replay). */
  writerStates(): Map<number, ReturnType<PoolState['toSnapshot']>> {
    const out = new Map<number, ReturnType<PoolState['toSnapshot']>>();
    for (const [partition, entry] of this.owned) if (entry.ready) out.set(partition, entry.state.toSnapshot());
    return out;
  }

  /** Snapshots every owned partition that changed since its last snapshot now; returns the partitions written. */
  async snapshotAll(): Promise<number[]> {
    const written: number[] = [];
    for (const entry of [...this.owned.values()]) if (await this.takeSnapshot(entry, 'requested')) written.push(entry.partition);
    return written;
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
  async redeemPromoCode(
    siteId: string,
    code: string,
    call: { callId: string; callerNumber: string; calledAtMs: number; redeemedBy: string },
  ): Promise<RedeemResult> {
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
    const event = createEvent('PromoCodeRedeemed', payload, { siteId, producer: SERVICE_NAME, eventId: derivedEventId(siteId, key, 'promo') });
    // On the site's writer, under the lock: a snapshot never sees the event read back but not applied.
    const owner = [...this.owned.values()].find((o) => o.state === state);
    const publishAndApply = async () => {
      owner?.unseen.add(event.eventId);
      try {
        await this.bus.producer.publish('poolEvents', siteKey(siteId), event);
      } catch (err) {
        owner?.unseen.delete(event.eventId);
        throw err;
      }
      // Read-your-writes for this instance: a second redemption right after sees the first.
      state.apply(event);
      if (state !== this.view) this.view.apply(event);
    };
    await (owner ? this.exclusive(publishAndApply) : publishAndApply());
    return { kind: 'redeemed', redemption: payload, duplicate: false };
  }
}

export type RedeemResult =
  | { kind: 'redeemed'; redemption: EventInput<'PromoCodeRedeemed'>; duplicate: boolean }
  | { kind: 'not_found' }
  | { kind: 'unknown_site' }
  | { kind: 'conflict'; code: string };

function definePoolMetrics() {
  return {
    granted: counter({ name: 'calltrack_pool_leases_granted_total', help: 'Leases granted (answers published).' }),
    rejected: counter({
      name: 'calltrack_pool_lease_rejections_total',
      help:
        'Lease requests refused, by reason (pool_exhausted: a shortage; expired: answered after its deadline; holder_share, pool_empty, ' +
        'codes_exhausted, unknown_site).',
      labelNames: ['reason'] as const,
    }),
    ended: counter({
      name: 'calltrack_pool_leases_ended_total',
      help:
        'Leases ended, by reason (expired: held to its end; ' +
        'undelivered: the grant reached session-tracker after its visitor was shown the default number).',
      labelNames: ['reason'] as const,
    }),
  };
}

// Defined at load: a scrape lists every metric from the start, before the first lease.
const metrics = definePoolMetrics();

/** Counts the answers of a flush once they are durable: a batch redone after a crash is answered as duplicates, not counted twice. */
function countAnswers(events: ReadonlyArray<DomainEvent | AnyDomainEvent>): void {
  const m = metrics;
  for (const e of events) {
    if (e.type === 'LeaseGranted') m.granted.inc();
    else if (e.type === 'LeaseRejected') m.rejected.inc({ reason: (e.payload as { reason: string }).reason || 'unknown' });
    // The sweep's (tail passed: no reason) or a release session-tracker asked for ("undelivered").
    else if (e.type === 'LeaseExpired') m.ended.inc({ reason: (e.payload as { reason?: string }).reason || 'expired' });
  }
}
