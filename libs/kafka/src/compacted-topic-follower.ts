import type { AnyDomainEvent, TopicKey } from '@calltrack/contracts';
import type { BatchConsumer, BatchConsumerOptions } from './batch-consumer.js';
import type { KafkaSettings } from './kafka-client.js';
import { ReplayWatermark } from './replay-watermark.js';
import type { ReplayedRecord, ReplayOptions } from './topic-reader.js';

/** Where a record was read: the start-up replay, or the live consumer that follows it. */
export type FollowPhase = 'replay' | 'follow';

/** A record of a followed topic, as the follower hands it to `apply`. */
export interface FollowedRecord {
  topic: TopicKey;
  partition: number;
  offset: string;
  key: string | null;
  /** Undefined for a tombstone or an undecodable value met by the replay (the live consumer dead-letters those). */
  event: AnyDomainEvent | undefined;
  phase: FollowPhase;
}

export interface CompactedTopicFollowerOptions {
  /** What is rebuilt ("sites", "blocklist"): names the follow group and the log lines. */
  name: string;
  topics: TopicKey[];
  /**
   * Applies one record to the state, in log order per partition, at most once per offset.
   * Throwing during the replay fails start(); while following, the consumer retries the
   * record and then dead-letters it (a NonRetriableError goes there at once).
   */
  apply(record: FollowedRecord): void | Promise<void>;
  /**
   * The replay restarts from the beginning after a transient broker error: a state that
   * cannot take its records again in order is reset here.
   */
  onReplayRestart?(): void;
  /** The follow group, made unique per instance; `<client id>.<name>` by default. */
  groupId?: string;
}

/** What the follower uses of KafkaBus (narrow, so this file does not import the bus that creates it). */
export interface FollowerBus {
  readonly settings: KafkaSettings;
  replay(
    topics: TopicKey[],
    onRecord: (r: ReplayedRecord) => void | Promise<void>,
    options?: ReplayOptions & { onRestart?: () => void },
  ): Promise<{ records: number }>;
  consumer(options: BatchConsumerOptions): BatchConsumer;
}

/**
 * Hands each record to `apply` unless a record at or past its offset of the same partition
 * was applied already: the live consumer starts from the beginning (a fresh group at
 * "latest" would miss what was published between replay and join), so it re-reads what the
 * replay applied, and a retried batch re-reads what it applied; neither may step the state back.
 */
export class ApplyOnce {
  private readonly applied = new ReplayWatermark();

  constructor(private readonly apply: (record: FollowedRecord) => void | Promise<void>) {}

  /** True when the record was applied now. A record whose apply throws is not marked: its retry applies it. */
  async offer(record: FollowedRecord): Promise<boolean> {
    if (this.applied.covers(record.topic, record.partition, record.offset)) return false;
    await this.apply(record);
    this.applied.mark(record.topic, record.partition, record.offset);
    return true;
  }

  /** Forgets every mark: a replay that starts over applies its records again. */
  reset(): void {
    this.applied.clear();
  }
}

/**
 * Rebuilds a state from compacted topics and keeps it current: replays the topics up to
 * their end at start (ready from then on), then follows them in a consumer group of this
 * instance's own (every instance must see every record), applying each record once.
 * For state every instance keeps whole: sites, the antifraud blocklist, settings, secrets.
 */
export class CompactedTopicFollower {
  private readonly once: ApplyOnce;
  private consumer: BatchConsumer | undefined;
  private ready = false;
  private stopped = false;
  private replayedRecords = 0;
  private markReady!: () => void;
  private readonly readyPromise = new Promise<void>((resolve) => (this.markReady = resolve));

  constructor(
    private readonly bus: FollowerBus,
    private readonly options: CompactedTopicFollowerOptions,
  ) {
    this.once = new ApplyOnce((record) => options.apply(record));
  }

  /** Replays the topics to their end, then starts following them; resolves once following, with the records replayed. */
  async start(): Promise<{ records: number }> {
    const { name, topics } = this.options;
    const { records } = await this.bus.replay(
      topics,
      async (r) => {
        await this.once.offer({ ...r, phase: 'replay' });
      },
      {
        onRestart: () => {
          this.once.reset();
          this.options.onReplayRestart?.();
        },
      },
    );
    this.replayedRecords = records;
    this.ready = true;
    this.markReady();
    // Stopped while replaying (the process is shutting down): no consumer to leave behind.
    if (this.stopped) return { records };
    this.consumer = this.bus.consumer({
      groupId: this.options.groupId ?? `${this.bus.settings.clientId}.${name}`,
      perInstance: true,
      topics,
      fromBeginning: true,
      handle: async (r) => {
        await this.once.offer({ topic: r.topic, partition: r.partition, offset: r.offset, key: r.key, event: r.event, phase: 'follow' });
      },
    });
    await this.consumer.start();
    return { records };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.consumer?.stop();
  }

  /** True once the replay reached the end the topics had at start. */
  isReady(): boolean {
    return this.ready;
  }

  /** Resolves once the replay reached the end the topics had at start. */
  whenReady(): Promise<void> {
    return this.readyPromise;
  }

  /** Records the start-up replay read. */
  get replayed(): number {
    return this.replayedRecords;
  }
}
