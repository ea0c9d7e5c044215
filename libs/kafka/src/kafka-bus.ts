import { topicName, type TopicKey } from '@calltrack/contracts';
import pRetry from 'p-retry';
import type { Logger } from '@calltrack/telemetry';
import { BatchConsumer, type BatchConsumerOptions } from './batch-consumer.js';
import { CompactedTopicFollower, type CompactedTopicFollowerOptions } from './compacted-topic-follower.js';
import { EventProducer } from './event-producer.js';
import { isTransientKafkaError } from './errors.js';
import { createKafka, type KafkaJs, type KafkaSettings } from './kafka-client.js';
import { waitForTopics } from './topic-admin.js';
import { replayTopics, type ReplayedRecord, type ReplayOptions } from './topic-reader.js';

/**
 * A service's connection to Kafka: one idempotent producer shared by all its
 * writers, any number of batch consumers, and replay of its event-log topics.
 */
export class KafkaBus {
  readonly kafka: KafkaJs;
  readonly producer: EventProducer;
  private readonly consumers: BatchConsumer[] = [];
  private closed = false;

  constructor(
    readonly settings: KafkaSettings,
    private readonly logger: Logger,
  ) {
    this.kafka = createKafka(settings, logger);
    this.producer = new EventProducer(this.kafka, settings, logger);
  }

  async connect(): Promise<void> {
    await this.producer.connect();
  }

  consumer(options: BatchConsumerOptions): BatchConsumer {
    const c = new BatchConsumer(this.kafka, this.settings, this.producer, this.logger, options);
    this.consumers.push(c);
    return c;
  }

  /**
   * Rebuilds state from topics. Waits (logging) while the topics do not exist yet or have
   * no serving leader (a service started before provisioning), then replays; a transient
   * broker answer (NOT_LEADER_FOR_PARTITION after a leader moved, a lost connection) restarts
   * the replay from the beginning until `deadlineMs` (the handler must tolerate a restart,
   * which applying events in order does). An error of the handler itself is not retried.
   */
  async replay(
    topics: TopicKey[],
    onRecord: (r: ReplayedRecord) => void | Promise<void>,
    options: ReplayOptions & { onRestart?: () => void; deadlineMs?: number } = {},
  ): Promise<{ records: number }> {
    const names = topics.map((t) => topicName(t, this.settings.prefix));
    if (!(await waitForTopics(this.kafka, names, this.logger, () => !this.closed))) throw new Error('replay stopped: the Kafka connection is closing');
    const deadline = Date.now() + (options.deadlineMs ?? 120_000);
    let handlerError: unknown;
    const handle = async (r: ReplayedRecord): Promise<void> => {
      try {
        await onRecord(r);
      } catch (err) {
        handlerError = err;
        throw err;
      }
    };
    let attempt = 0;
    return pRetry(
      () => {
        // A retried replay starts over: the caller resets what the failed attempt built.
        if (attempt++ > 0) options.onRestart?.();
        return replayTopics(this.kafka, this.settings, this.logger, topics, handle, options);
      },
      {
        retries: 1_000,
        minTimeout: 300,
        maxTimeout: 5_000,
        shouldRetry: ({ error }) => error !== handlerError && isTransientKafkaError(error) && Date.now() < deadline && !this.closed,
        onFailedAttempt: ({ error, attemptNumber }) => this.logger.warn({ event: 'kafka_replay_retry', topics, attempt: attemptNumber, err: error.message }),
      },
    );
  }

  /**
   * A state rebuilt from compacted topics and kept current: `start()` replays them to their
   * end, then follows them in a group of this instance's own, applying each record once.
   */
  replayThenFollow(options: CompactedTopicFollowerOptions): CompactedTopicFollower {
    return new CompactedTopicFollower(this, options);
  }

  /** False once a consumer crashed for good (restarts exhausted): the process should be restarted. */
  isLive(): boolean {
    return this.consumers.every((c) => c.isLive());
  }

  isReady(): boolean {
    return this.producer.isConnected() && this.consumers.every((c) => c.isReady());
  }

  /** Drains consumers first (their in-flight batches may still publish), then closes the producer. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.consumers.map((c) => c.stop()));
    await this.producer.disconnect();
  }
}
