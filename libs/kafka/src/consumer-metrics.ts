import { counter, gauge, histogram, type Gauge } from '@calltrack/telemetry';

/** Members reporting calltrack_consumer_up, read at scrape time. */
const members = new Set<MemberTelemetry>();

function define() {
  const group = ['group'] as const;
  const groupTopic = ['group', 'topic'] as const;
  return {
    up: gauge({
      name: 'calltrack_consumer_up',
      help:
        'Whether every member of this consumer group in the process is joined and fetching (1) ' +
        'or not (0: starting, rebalancing, disconnected, restarting, dead).',
      labelNames: group,
      collect(this: Gauge<'group'>) {
        const byGroup = new Map<string, boolean>();
        for (const m of members) byGroup.set(m.group, (byGroup.get(m.group) ?? true) && m.isUp());
        this.reset();
        for (const [g, up] of byGroup) this.set({ group: g }, up ? 1 : 0);
      },
    }),
    lag: gauge({
      name: 'calltrack_consumer_lag',
      help: "Records between the consumer's position and the partition's high watermark, as of the last batch fetched, for each assigned partition.",
      labelNames: ['group', 'topic', 'partition'] as const,
    }),
    records: counter({
      name: 'calltrack_consumer_records_total',
      help: 'Records consumed and settled (handled, parked or dead-lettered).',
      labelNames: groupTopic,
    }),
    batchSize: histogram({
      name: 'calltrack_consumer_batch_size',
      help: 'Records settled per committed batch.',
      labelNames: group,
      buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000],
    }),
    batchDuration: histogram({
      name: 'calltrack_consumer_batch_duration_seconds',
      help: 'Time to handle, flush and commit one batch.',
      labelNames: group,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    }),
    retries: counter({
      name: 'calltrack_consumer_retries_total',
      help: 'Failed attempts of a record that are tried again in process.',
      labelNames: groupTopic,
    }),
    parked: counter({
      name: 'calltrack_consumer_parked_total',
      help: 'Records sent to the retry tier (<topic>.retry) after their in-process attempts.',
      labelNames: ['group', 'topic', 'reason'] as const,
    }),
    deadLettered: counter({
      name: 'calltrack_consumer_dead_lettered_total',
      help: 'Records copied to the dead-letter topic, by reason (undecodable, non_retriable, retries_exhausted).',
      labelNames: ['group', 'topic', 'reason'] as const,
    }),
    rebalances: counter({
      name: 'calltrack_consumer_rebalances_total',
      help: 'Group joins with a new assignment (the first join included).',
      labelNames: group,
    }),
    restarts: counter({ name: 'calltrack_consumer_restarts_total', help: 'Restarts of a member that crashed for good.', labelNames: group }),
    lastProgress: gauge({
      name: 'calltrack_consumer_last_progress_seconds',
      help: 'Unix time of the last progress: a record settled, a batch committed, a new assignment, or a fetch that found every assigned partition caught up.',
      labelNames: group,
    }),
  };
}

// Defined at load: a scrape lists every consumer metric from the start.
const defined = define();
const metrics = () => defined;

/**
 * Metrics and progress of one group member (the main group, or its retry tier `<group>.retry`).
 * Labels name the logical group (no environment prefix, no per-instance suffix) and the topic.
 *
 * Progress, for liveness (stalled()) and calltrack_consumer_last_progress_seconds: a record settled
 * (handled, parked or dead-lettered), a batch committed, a new assignment, or a fetch that found
 * every assigned partition caught up. A deliberate wait also keeps the member alive without being
 * progress: a backoff before a retry, a failing flush being retried (a store outage is a
 * readiness matter, a restart would not fix it), a parked record not yet due, a handler that
 * heartbeats (an HTTP delivery retrying).
 */
export class MemberTelemetry {
  private readonly lags = new Map<string, { topic: string; partition: string; lag: number }>();
  private lastProgressAt = Date.now();
  private aliveAt = Date.now();
  private waitingUntil = 0;

  constructor(
    readonly group: string,
    readonly isUp: () => boolean,
  ) {
    metrics();
    members.add(this);
  }

  private progress(now = Date.now()): void {
    this.lastProgressAt = now;
    this.aliveAt = now;
    // Milliseconds kept: two progresses within one second must still tell apart (a scrape before and after a delivery).
    metrics().lastProgress.set({ group: this.group }, now / 1000);
  }

  /** A new assignment: lag of partitions this member no longer holds is dropped. */
  assigned(assignment: Record<string, readonly number[]>): void {
    const keep = new Set<string>();
    for (const [topic, partitions] of Object.entries(assignment)) for (const p of partitions) keep.add(`${topic}:${p}`);
    for (const [key, l] of this.lags) {
      if (keep.has(key)) continue;
      this.lags.delete(key);
      metrics().lag.remove({ group: this.group, topic: l.topic, partition: l.partition });
    }
    metrics().rebalances.inc({ group: this.group });
    this.progress();
  }

  private setLag(topic: string, partition: number, lag: number): void {
    const entry = { topic, partition: String(partition), lag: Math.max(0, lag) };
    this.lags.set(`${topic}:${partition}`, entry);
    metrics().lag.set({ group: this.group, topic, partition: entry.partition }, entry.lag);
  }

  /** A batch arrived: its records up to the high watermark are waiting. */
  batchStarted(topic: string, partition: number, highWatermark: string, firstOffset: string | undefined): void {
    if (firstOffset === undefined) return;
    this.setLag(topic, partition, Number(BigInt(highWatermark) - BigInt(firstOffset)));
  }

  recordSettled(topic: string): void {
    metrics().records.inc({ group: this.group, topic });
    this.progress();
  }

  /** Offsets up to `lastOffset` are committed (or marked for the interval commit). */
  batchCommitted(topic: string, partition: number, highWatermark: string, lastOffset: string, records: number, seconds: number): void {
    this.setLag(topic, partition, Number(BigInt(highWatermark) - BigInt(lastOffset) - 1n));
    metrics().batchSize.observe({ group: this.group }, records);
    metrics().batchDuration.observe({ group: this.group }, seconds);
    this.progress();
  }

  /** A fetch completed: with nothing waiting on any assigned partition, being idle is progress. */
  fetched(): void {
    if (!this.hasLag()) this.progress();
  }

  retried(topic: string): void {
    metrics().retries.inc({ group: this.group, topic });
  }

  parked(topic: string, reason: string): void {
    metrics().parked.inc({ group: this.group, topic, reason });
  }

  deadLettered(topic: string, reason: string): void {
    metrics().deadLettered.inc({ group: this.group, topic, reason });
  }

  restarted(): void {
    metrics().restarts.inc({ group: this.group });
  }

  /** A step of a deliberate wait (backoff slice, flush retry, due-time wait, handler heartbeat). */
  alive(): void {
    this.aliveAt = Date.now();
  }

  /** A partition is paused until then for a record's backoff: waiting, not stalled. */
  waitUntil(atMs: number): void {
    this.waitingUntil = Math.max(this.waitingUntil, atMs);
  }

  private hasLag(): boolean {
    for (const l of this.lags.values()) if (l.lag > 0) return true;
    return false;
  }

  /**
   * Stalled: assigned, with records waiting on one of its partitions, and neither progress nor a
   * deliberate wait for `stallMs`. A member that is not assigned (joining, rebalancing,
   * disconnected, restarting) is not judged here: kafkajs's retries and the supervisor's
   * restarts (then maxRestarts, dead) cover it.
   */
  stalled(assigned: boolean, stallMs: number | undefined, now = Date.now()): boolean {
    if (!stallMs || !assigned || !this.hasLag()) return false;
    return now - Math.max(this.aliveAt, this.waitingUntil) > stallMs;
  }

  /** Seconds since the last progress (logs). */
  idleSeconds(now = Date.now()): number {
    return Math.round((now - this.lastProgressAt) / 1000);
  }

  /** The consumer stopped: its series go (a stopped member has no lag, and no up to report). */
  close(): void {
    members.delete(this);
    for (const l of this.lags.values()) metrics().lag.remove({ group: this.group, topic: l.topic, partition: l.partition });
    this.lags.clear();
  }
}
