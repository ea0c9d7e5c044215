import { decodeEvent, deadLetterTopicName, retryTopicName, TOPICS, topicName, type AnyDomainEvent, type TopicKey } from '@calltrack/contracts';
import { extractTraceContext, SpanKind, tracer, withSpan, type Logger } from '@calltrack/telemetry';
import { randomUUID } from 'node:crypto';
import pRetry, { AbortError } from 'p-retry';
import { NonRetriableError } from './errors.js';
import type { EventProducer } from './event-producer.js';
import type { KafkaJs, KafkaSettings } from './kafka-client.js';

type KafkaConsumer = ReturnType<KafkaJs['consumer']>;
type KafkaMessage = { key: Buffer | null; value: Buffer | null; headers?: Record<string, unknown>; offset: string; timestamp: string };

/** One decoded record handed to a handler. */
export interface ConsumedRecord {
  topic: TopicKey;
  topicName: string;
  partition: number;
  offset: string;
  key: string | null;
  event: AnyDomainEvent;
  timestampMs: number;
  /**
   * Tells the group coordinator this member is alive. A handler that may take longer than a
   * fraction of the session timeout (an HTTP delivery with retries) calls it between attempts,
   * or the member is evicted and the batch redone.
   */
  heartbeat(): Promise<void>;
}

export interface BatchConsumerOptions {
  /** Consumer group without the environment prefix; one group per independent stream of work. */
  groupId: string;
  /**
   * For state every instance must see in full (e.g. site configuration): the group
   * gets a unique suffix, so each instance reads every partition, and is deleted on
   * stop instead of lingering on the broker after every restart.
   */
  perInstance?: boolean;
  topics: TopicKey[];
  /** Where a group with no committed offset starts. */
  fromBeginning?: boolean;
  /** Processes one record. Must be idempotent by event id: a record can be redelivered after a crash. */
  handle(record: ConsumedRecord): Promise<void>;
  /** Makes the work of the batch durable (e.g. one ClickHouse insert); offsets are committed after it. */
  flush?(): Promise<void>;
  partitionsConsumedConcurrently?: number;
  /** Overrides KafkaSettings.maxRetries for this consumer. */
  maxRetries?: number;
  /** First backoff between attempts; doubles each time. */
  retryDelayMs?: number;
  /**
   * Use the registry's retry tier (TopicSpec.retryDelaysMs): a record whose
   * in-process retries ran out is tried again later from `<topic>.retry` by a
   * second group (`<groupId>.retry`) instead of going straight to the dead letters.
   */
  retryTopic?: boolean;
  /** Overrides the registry's retry delays (configuration, tests). */
  retryDelaysMs?: readonly number[];
  /**
   * Called on every group join with this member's partitions per topic, before
   * any batch of the new assignment is handled: a single writer per partition
   * drops the state of partitions it lost and rebuilds those it gained.
   */
  onAssignment?(partitions: ReadonlyMap<TopicKey, readonly number[]>): void;
  /**
   * Commit at most this often instead of after every batch, for consumers whose
   * handling is idempotent (a redelivered record changes nothing): the offset of a
   * batch is still only marked for commit after its flush, so nothing undone is
   * ever committed, but the next fetch does not wait for a commit round trip.
   */
  commitIntervalMs?: number;
}

/** Headers of a record parked on a retry topic (original key, value and headers kept). */
export const RETRY_HEADERS = {
  attempt: 'retry_attempt',
  notBefore: 'retry_not_before',
  error: 'retry_error',
  sourceTopic: 'retry_source_topic',
  sourcePartition: 'retry_source_partition',
  sourceOffset: 'retry_source_offset',
} as const;

/** Header names added to a dead-lettered copy of a record; the original key, value and headers are kept. */
export const DLQ_HEADERS = {
  reason: 'dlq_reason',
  error: 'dlq_error',
  sourceTopic: 'dlq_source_topic',
  sourcePartition: 'dlq_source_partition',
  sourceOffset: 'dlq_source_offset',
  consumerGroup: 'dlq_consumer_group',
  attempts: 'dlq_attempts',
  failedAt: 'dlq_failed_at',
} as const;

export type DeadLetterReason = 'undecodable' | 'non_retriable' | 'retries_exhausted';

/**
 * A consumer group member that processes batches and commits offsets only after
 * the batch's work is durable: each record is handled (with bounded retries,
 * then the dead-letter topic), then flush() runs, then offsets are committed.
 */
interface Member {
  consumer: KafkaConsumer;
  groupId: string;
  topics: string[];
  /** Consumes the retry tier: waits for each record's time before handling it. */
  retryTier: boolean;
  joined: boolean;
}

export class BatchConsumer {
  private readonly members: Member[] = [];
  private readonly topicByName = new Map<string, TopicKey>();
  private readonly groupId: string;
  private readonly maxRetries: number;
  private running = false;
  private crashed: Error | undefined;
  private readonly tracer;

  constructor(
    private readonly kafka: KafkaJs,
    private readonly settings: KafkaSettings,
    private readonly producer: EventProducer,
    private readonly logger: Logger,
    private readonly options: BatchConsumerOptions,
  ) {
    this.groupId = `${settings.prefix}${options.groupId}${options.perInstance ? `.${randomUUID()}` : ''}`;
    this.maxRetries = options.maxRetries ?? settings.maxRetries ?? 5;
    this.tracer = tracer(settings.clientId);
    const main: string[] = [];
    const retry: string[] = [];
    for (const key of options.topics) {
      const name = topicName(key, settings.prefix);
      this.topicByName.set(name, key);
      main.push(name);
      if (options.retryTopic && TOPICS[key].retryDelaysMs) {
        this.topicByName.set(retryTopicName(name), key);
        retry.push(retryTopicName(name));
      }
    }
    this.members.push(this.member(this.groupId, main, false));
    if (retry.length > 0) this.members.push(this.member(`${this.groupId}.retry`, retry, true));
  }

  private member(groupId: string, topics: string[], retryTier: boolean): Member {
    const sessionTimeout = this.settings.sessionTimeoutMs ?? 15_000;
    const consumer = this.kafka.consumer({
      groupId,
      // A member killed without leaving holds its partitions until this expires (kafkajs has no
      // static membership), so keep it short; handlers heartbeat between retries and flushes.
      sessionTimeout,
      heartbeatInterval: Math.min(3_000, Math.floor(sessionTimeout / 5)),
      maxWaitTimeInMs: 100,
      allowAutoTopicCreation: false,
      retry: { retries: 10 },
    });
    const member: Member = { consumer, groupId, topics, retryTier, joined: false };
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      member.joined = true;
      this.logger.info({ event: 'kafka_group_joined', group: groupId, assignment: e.payload.memberAssignment });
      if (!retryTier && this.options.onAssignment) {
        const partitions = new Map<TopicKey, number[]>();
        for (const [name, list] of Object.entries(e.payload.memberAssignment as Record<string, number[]>)) {
          const key = this.topicByName.get(name);
          if (key) partitions.set(key, [...list].sort((a, b) => a - b));
        }
        this.options.onAssignment(partitions);
      }
    });
    consumer.on(consumer.events.CRASH, (e) => {
      this.crashed = e.payload.error;
      this.logger.error({ event: 'kafka_consumer_crash', group: groupId, err: e.payload.error, restart: e.payload.restart });
      if (e.payload.restart) this.crashed = undefined;
    });
    return member;
  }

  /** True once the member joined its group and is fetching. */
  isReady(): boolean {
    return this.running && !this.crashed && this.members.every((m) => m.joined);
  }

  /**
   * Connects and subscribes, then returns without waiting for the group join
   * (which can take a session timeout after an unclean restart): isReady() tells
   * when the member is consuming.
   */
  async start(): Promise<void> {
    this.running = true;
    for (const member of this.members) await this.startMember(member);
  }

  private async startMember(member: Member): Promise<void> {
    const { consumer } = member;
    await consumer.connect();
    await consumer.subscribe({ topics: member.topics, fromBeginning: member.retryTier || (this.options.fromBeginning ?? false) });
    const run = consumer.run({
      autoCommit: this.options.commitIntervalMs !== undefined && !member.retryTier,
      ...(this.options.commitIntervalMs !== undefined ? { autoCommitInterval: this.options.commitIntervalMs } : {}),
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: member.retryTier ? 1 : (this.options.partitionsConsumedConcurrently ?? 1),
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale, commitOffsetsIfNecessary }) => {
        const topic = this.topicByName.get(batch.topic);
        if (!topic) throw new Error(`record from unsubscribed topic ${batch.topic}`);
        let last: string | undefined;
        for (const message of batch.messages as KafkaMessage[]) {
          if (!isRunning() || isStale()) break;
          // A parked record waits for its time; stopping meanwhile leaves it uncommitted for later.
          if (member.retryTier && !(await this.waitUntilDue(message, heartbeat, isRunning))) break;
          await this.processMessage(topic, batch.topic, batch.partition, message, heartbeat);
          last = message.offset;
        }
        if (last === undefined) return;
        if (this.options.flush) await this.flushWithRetry(heartbeat, isRunning);
        resolveOffset(last);
        // Through the batch's own committer: Consumer.commitOffsets() is a no-op once stop() began,
        // which would lose the commit of the batch being drained.
        if (this.options.commitIntervalMs !== undefined && !member.retryTier) await commitOffsetsIfNecessary();
        else await commitOffsetsIfNecessary({ topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: (BigInt(last) + 1n).toString() }] }] });
        await heartbeat();
      },
    });
    run.catch((err: Error) => {
      this.crashed = err;
      this.logger.error({ event: 'kafka_consumer_run_failed', group: member.groupId, err });
    });
  }

  private async waitUntilDue(message: KafkaMessage, heartbeat: () => Promise<void>, isRunning: () => boolean): Promise<boolean> {
    const notBefore = Number(headerText(message.headers?.[RETRY_HEADERS.notBefore]) ?? 0);
    while (Date.now() < notBefore) {
      if (!isRunning()) return false;
      await new Promise((r) => setTimeout(r, Math.min(1000, notBefore - Date.now())));
      await heartbeat();
    }
    return isRunning();
  }

  private async deleteGroups(): Promise<void> {
    const admin = this.kafka.admin();
    try {
      await admin.connect();
      await admin.deleteGroups(this.members.map((m) => m.groupId));
    } catch (err) {
      // Only housekeeping: an undeleted group expires with offsets.retention.minutes.
      this.logger.warn({ event: 'kafka_group_delete_failed', group: this.groupId, err: (err as Error).message });
    } finally {
      await admin.disconnect();
    }
  }

  /** Resolves once the member has joined its group (tests, ordered start-up). */
  async waitUntilReady(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.isReady()) {
      if (this.crashed) throw this.crashed;
      if (Date.now() > deadline) throw new Error(`consumer group ${this.groupId} did not join within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  private async processMessage(
    topic: TopicKey,
    name: string,
    partition: number,
    message: KafkaMessage,
    heartbeat: () => Promise<void>,
  ): Promise<void> {
    let event: AnyDomainEvent;
    try {
      event = decodeEvent(message.value);
      if (!TOPICS[topic].events.includes(event.type)) {
        throw new NonRetriableError(`event ${event.type} does not belong on topic ${TOPICS[topic].name}`);
      }
    } catch (err) {
      await this.deadLetter(topic, name, partition, message, 'undecodable', err as Error, 1);
      return;
    }
    const record: ConsumedRecord = {
      topic,
      topicName: name,
      partition,
      offset: message.offset,
      key: message.key ? message.key.toString('utf8') : null,
      event,
      timestampMs: Number(message.timestamp),
      heartbeat,
    };
    const parent = extractTraceContext(message.headers);
    let attempts = 0;
    try {
      await pRetry(
        async () => {
          attempts += 1;
          try {
            await withSpan(
              this.tracer,
              `process ${topic}`,
              {
                kind: SpanKind.CONSUMER,
                parent,
                attributes: {
                  'messaging.system': 'kafka',
                  'messaging.operation.type': 'process',
                  'messaging.destination.name': name,
                  'messaging.consumer.group.name': this.groupId,
                  'messaging.kafka.offset': Number(message.offset),
                  'calltrack.event_type': event.type,
                  'calltrack.site_id': event.siteId,
                },
              },
              () => this.options.handle(record),
            );
          } catch (err) {
            // Only NonRetriableError skips retries; everything else is assumed transient.
            if (err instanceof NonRetriableError) throw new AbortError(err);
            throw err instanceof Error ? err : new Error(String(err));
          }
        },
        {
          retries: this.maxRetries,
          minTimeout: this.options.retryDelayMs ?? 200,
          factor: 2,
          maxTimeout: 10_000,
          onFailedAttempt: async ({ error, attemptNumber, retriesLeft }) => {
            this.logger.warn({ event: 'kafka_record_retry', group: this.groupId, topic: name, partition, offset: message.offset, attempt: attemptNumber, retriesLeft, err: error });
            await heartbeat();
          },
        },
      );
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      if (err instanceof NonRetriableError) {
        await this.deadLetter(topic, name, partition, message, 'non_retriable', error, attempts);
        return;
      }
      const tier = Number(headerText(message.headers?.[RETRY_HEADERS.attempt]) ?? 0);
      const delays = this.options.retryTopic ? (this.options.retryDelaysMs ?? TOPICS[topic].retryDelaysMs) : undefined;
      if (delays && tier < delays.length) await this.park(topic, name, partition, message, tier + 1, delays[tier]!, error);
      else await this.deadLetter(topic, name, partition, message, 'retries_exhausted', error, attempts);
    }
  }

  private async flushWithRetry(heartbeat: () => Promise<void>, isRunning: () => boolean): Promise<void> {
    // A failed flush is never dead-lettered: the store is down, not the data. Keep
    // retrying (heartbeating) until it works or the consumer stops without committing.
    let delay = this.options.retryDelayMs ?? 200;
    for (;;) {
      try {
        await this.options.flush!();
        return;
      } catch (err) {
        this.logger.error({ event: 'kafka_batch_flush_failed', group: this.groupId, err });
        if (!isRunning()) throw err;
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 10_000);
        await heartbeat();
      }
    }
  }

  /** Parks a record on its retry topic, to be tried again after `delayMs`. */
  private async park(topic: TopicKey, name: string, partition: number, message: KafkaMessage, attempt: number, delayMs: number, err: Error): Promise<void> {
    const headers = copyHeaders(message.headers);
    // The first source is kept through every tier, so the record stays traceable to where it came from.
    headers[RETRY_HEADERS.sourceTopic] ??= name;
    headers[RETRY_HEADERS.sourcePartition] ??= String(partition);
    headers[RETRY_HEADERS.sourceOffset] ??= message.offset;
    Object.assign(headers, {
      [RETRY_HEADERS.attempt]: String(attempt),
      [RETRY_HEADERS.notBefore]: String(Date.now() + delayMs),
      [RETRY_HEADERS.error]: err.message.slice(0, 2000),
    });
    const target = retryTopicName(topicName(topic, this.settings.prefix));
    await pRetry(() => this.producer.sendRaw(target, [{ key: message.key, value: message.value, headers }]), { retries: 10, minTimeout: 200 });
    this.logger.warn({ event: 'kafka_record_parked', group: this.groupId, topic: name, partition, offset: message.offset, attempt, delayMs, err: err.message });
  }

  /** `name` is the topic the record was read from (a retry topic, possibly); the dead letters are the source topic's. */
  private async deadLetter(topic: TopicKey, name: string, partition: number, message: KafkaMessage, reason: DeadLetterReason, err: Error, attempts: number): Promise<void> {
    const headers = copyHeaders(message.headers);
    Object.assign(headers, {
      [DLQ_HEADERS.reason]: reason,
      [DLQ_HEADERS.error]: err.message.slice(0, 2000),
      [DLQ_HEADERS.sourceTopic]: name,
      [DLQ_HEADERS.sourcePartition]: String(partition),
      [DLQ_HEADERS.sourceOffset]: message.offset,
      [DLQ_HEADERS.consumerGroup]: this.groupId,
      [DLQ_HEADERS.attempts]: String(attempts),
      [DLQ_HEADERS.failedAt]: new Date().toISOString(),
    });
    // The dead-letter write must succeed before the offset moves on, or the record would be lost.
    const target = deadLetterTopicName(topicName(topic, this.settings.prefix));
    await pRetry(() => this.producer.sendRaw(target, [{ key: message.key, value: message.value, headers }]), { retries: 10, minTimeout: 200 });
    this.logger.error({ event: 'kafka_record_dead_lettered', group: this.groupId, topic: name, partition, offset: message.offset, reason, attempts, err: err.message });
  }

  /** Graceful drain: stops fetching, lets the batch in progress finish and commit, then leaves the group. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    await Promise.all(this.members.map((m) => m.consumer.disconnect()));
    if (this.options.perInstance) await this.deleteGroups();
    this.logger.info({ event: 'kafka_consumer_stopped', group: this.groupId });
  }
}

function copyHeaders(headers: Record<string, unknown> | undefined): Record<string, string | Buffer> {
  const out: Record<string, string | Buffer> = {};
  for (const [k, v] of Object.entries(headers ?? {})) {
    if (Buffer.isBuffer(v) || typeof v === 'string') out[k] = v;
  }
  return out;
}

function headerText(v: unknown): string | undefined {
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  return typeof v === 'string' ? v : undefined;
}
