import type { TopicKey } from '@calltrack/contracts';
import pRetry from 'p-retry';
import type { Logger } from '@calltrack/telemetry';
import { BatchConsumer, type BatchConsumerOptions } from './batch-consumer.js';
import { EventProducer } from './event-producer.js';
import { createKafka, type KafkaJs, type KafkaSettings } from './kafka-client.js';
import { replayTopics, type ReplayedRecord, type ReplayOptions } from './topic-reader.js';

/**
 * A service's connection to Kafka: one idempotent producer shared by all its
 * writers, any number of batch consumers, and replay of its event-log topics.
 */
export class KafkaBus {
  readonly kafka: KafkaJs;
  readonly producer: EventProducer;
  private readonly consumers: BatchConsumer[] = [];

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
   * Rebuilds state from topics. Retried as a whole (the handler must tolerate a
   * restart from the beginning, which applying events in order does): right after
   * topics are created the broker briefly answers NOT_LEADER.
   */
  replay(
    topics: TopicKey[],
    onRecord: (r: ReplayedRecord) => void | Promise<void>,
    options: ReplayOptions & { onRestart?: () => void } = {},
  ): Promise<{ records: number }> {
    let attempt = 0;
    return pRetry(() => {
      // A retried replay starts over: the caller resets what the failed attempt built.
      if (attempt++ > 0) options.onRestart?.();
      return replayTopics(this.kafka, this.settings, this.logger, topics, onRecord, options);
    }, {
      retries: 5,
      minTimeout: 300,
      onFailedAttempt: ({ error, attemptNumber }) => this.logger.warn({ event: 'kafka_replay_retry', topics, attempt: attemptNumber, err: error.message }),
    });
  }

  isReady(): boolean {
    return this.producer.isConnected() && this.consumers.every((c) => c.isReady());
  }

  /** Drains consumers first (their in-flight batches may still publish), then closes the producer. */
  async close(): Promise<void> {
    await Promise.all(this.consumers.map((c) => c.stop()));
    await this.producer.disconnect();
  }
}
