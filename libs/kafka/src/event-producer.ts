import { encodeEvent, topicName, type AnyDomainEvent, type DomainEvent, type TopicKey } from '@calltrack/contracts';
import {
  counter,
  histogram,
  injectTraceHeaders,
  LATENCY_BUCKETS,
  secondsSince,
  SpanKind,
  tracer,
  withSpan,
  type Context,
  type Logger,
} from '@calltrack/telemetry';
import { isTransientKafkaError, PublishUnavailableError } from './errors.js';
import { Partitioners, type KafkaJs, type KafkaSettings } from './kafka-client.js';

type KafkaProducer = ReturnType<KafkaJs['producer']>;

export interface OutgoingRecord {
  topic: TopicKey;
  key: string;
  event: DomainEvent | AnyDomainEvent;
  /**
   * Trace context the record continues, when it is published outside the work
   * that caused it (e.g. a batch flush): the consumer's span then becomes a
   * child of the span that decided the event. Default: the active context.
   */
  traceContext?: Context;
}

/** Header names set on every record, readable with kcat without decoding protobuf. */
export const HEADER_EVENT_ID = 'event_id';
const MAX_COALESCED_BYTES = 512 * 1024;
export const HEADER_EVENT_TYPE = 'event_type';
export const HEADER_SITE_ID = 'site_id';
/** Default publish deadline (KAFKA_PUBLISH_TIMEOUT_MS). */
export const DEFAULT_PUBLISH_TIMEOUT_MS = 5000;

interface QueuedPublish {
  messages: Array<{ topic: string; message: { key: string; value: Buffer; headers: Record<string, string> } }>;
  resolve: () => void;
  reject: (err: Error) => void;
}

/**
 * Idempotent producer (acks=all, one request in flight, so retries neither
 * duplicate nor reorder). publish() resolves only once the broker acknowledged
 * every record: callers may then treat the events as durable.
 *
 * Every publish has a deadline (KAFKA_PUBLISH_TIMEOUT_MS): past it, the call
 * rejects with PublishUnavailableError instead of waiting for kafkajs's own
 * retries (tens of seconds while the broker is down). Records not yet handed to
 * the client are dropped from the queue; records already in flight may still land,
 * which is why every event that a sender may resend has a deterministic id.
 */
export class EventProducer {
  private readonly producer: KafkaProducer;
  private connected = false;
  private closing = false;
  /** Attempts to connect so far (tests watch a connect waiting for its broker). */
  connectAttempts = 0;
  private readonly tracer;
  private readonly publishTimeoutMs: number;

  constructor(
    kafka: KafkaJs,
    private readonly settings: KafkaSettings,
    private readonly logger: Logger,
  ) {
    // The default (Java-compatible murmur2) partitioner: a key lands on the same partition whatever client wrote it.
    this.producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    this.tracer = tracer(settings.clientId);
    this.publishTimeoutMs = settings.publishTimeoutMs ?? DEFAULT_PUBLISH_TIMEOUT_MS;
  }

  /**
   * Connects, waiting out a broker that does not answer yet (starting, overloaded: a metadata
   * request timing out) with backoff, as consumers wait for their topics: a service started
   * before its broker stays unready instead of exiting. A refusal (authentication, a bad
   * address) fails at once; so does a disconnect() meanwhile.
   */
  async connect(): Promise<void> {
    if (this.connected) return;
    this.closing = false;
    let lastLog = 0;
    for (let round = 0; ; round++) {
      try {
        this.connectAttempts += 1;
        await this.producer.connect();
        break;
      } catch (err) {
        if (!isTransientKafkaError(err) || this.closing) throw err;
        if (Date.now() - lastLog > 30_000) {
          lastLog = Date.now();
          this.logger.warn({ event: 'kafka_producer_waiting', err: (err as Error).message }, 'waiting for the Kafka cluster');
        }
        await new Promise((r) => setTimeout(r, Math.min(1000 * 2 ** Math.min(round, 4), 10_000)));
        if (this.closing) throw err;
      }
    }
    this.connected = true;
    this.logger.info({ event: 'kafka_producer_connected' });
  }

  isConnected(): boolean {
    return this.connected;
  }

  async publish(topic: TopicKey, key: string, event: DomainEvent | AnyDomainEvent, options?: PublishOptions): Promise<void> {
    await this.publishMany([{ topic, key, event }], options);
  }

  /**
   * Publishes records of one or more topics; resolves once the broker acknowledged
   * them all. Calls made while a request is in flight are coalesced into the next
   * request (the idempotent producer allows one in flight anyway): under load one
   * produce request carries many callers' records, at no extra latency when idle.
   */
  async publishMany(records: OutgoingRecord[], options: PublishOptions = {}): Promise<void> {
    if (records.length === 0) return;
    const topics = [...new Set(records.map((r) => topicName(r.topic, this.settings.prefix)))];
    const started = process.hrtime.bigint();
    try {
      await this.publishManyUnmeasured(records, options);
      const seconds = secondsSince(started);
      for (const topic of topics) producerMetrics().duration.observe({ topic }, seconds);
    } catch (err) {
      const reason = err instanceof PublishUnavailableError ? (err.timedOut ? 'timeout' : 'unavailable') : 'error';
      for (const topic of topics) producerMetrics().failures.inc({ topic, reason });
      throw err;
    }
  }

  private async publishManyUnmeasured(records: OutgoingRecord[], options: PublishOptions): Promise<void> {
    if (!this.connected) throw new PublishUnavailableError('producer is not connected', false);
    const deadlinePerRequestMs = options.timeoutMs ?? this.publishTimeoutMs;
    const first = records[0]!;
    await withSpan(
      this.tracer,
      `publish ${first.topic}`,
      {
        kind: SpanKind.PRODUCER,
        attributes: {
          'messaging.system': 'kafka',
          'messaging.operation.type': 'send',
          'messaging.destination.name': topicName(first.topic, this.settings.prefix),
          'messaging.batch.message_count': records.length,
        },
      },
      () => {
        // The producer span is the parent of the consumers' spans (trace context in headers).
        const trace = injectTraceHeaders();
        const messages = records.map((r) => ({
          topic: topicName(r.topic, this.settings.prefix),
          message: {
            key: r.key,
            value: encodeEvent(r.event as DomainEvent),
            headers: {
              ...(r.traceContext ? injectTraceHeaders(r.traceContext) : trace),
              [HEADER_EVENT_ID]: r.event.eventId,
              [HEADER_EVENT_TYPE]: r.event.type,
              [HEADER_SITE_ID]: r.event.siteId,
            },
          },
        }));
        // One deadline per produce request the call needs: a consumer flushing a backlog batch of
        // several MiB is not failed for its size, only for a broker that stops answering.
        const bytes = messages.reduce((sum, { message }) => sum + message.value.length + message.key.length + 200, 0);
        const timeoutMs = deadlinePerRequestMs * Math.ceil(bytes / MAX_COALESCED_BYTES);
        return new Promise<void>((resolve, reject) => {
          const item: QueuedPublish = {
            messages,
            resolve: () => {
              clearTimeout(timer);
              resolve();
            },
            reject: (err) => {
              clearTimeout(timer);
              reject(err instanceof PublishUnavailableError ? err : new PublishUnavailableError(`events not stored: ${err.message}`, false, { cause: err }));
            },
          };
          const timer = setTimeout(() => {
            // Still queued: never sent, so it cannot land later. In flight: it may (same event ids).
            const queued = this.queue.indexOf(item);
            if (queued >= 0) this.queue.splice(queued, 1);
            reject(new PublishUnavailableError(`events not acknowledged by the broker within ${timeoutMs} ms`, true));
          }, timeoutMs);
          this.queue.push(item);
          if (!this.sending) void this.drain();
        });
      },
    );
  }

  private readonly queue: QueuedPublish[] = [];
  private sending = false;

  /** Sends everything queued in one request, then whatever queued meanwhile, until the queue is empty. */
  private async drain(): Promise<void> {
    this.sending = true;
    try {
      while (this.queue.length > 0) {
        // Bounded so that one partition's record batch stays well under the broker's message.max.bytes (1 MiB).
        let bytes = 0;
        let take = 0;
        while (take < this.queue.length && (take === 0 || bytes < MAX_COALESCED_BYTES)) {
          for (const { message } of this.queue[take]!.messages) bytes += message.value.length + message.key.length + 200;
          take += 1;
        }
        const batch = this.queue.splice(0, take);
        // One publishMany can itself exceed the limit (a consumer publishing a whole backlog batch):
        // it goes out as several requests, in order, so per-partition order is kept.
        const requests: Array<Map<string, Array<{ key: string; value: Buffer; headers: Record<string, string> }>>> = [new Map()];
        let requestBytes = 0;
        for (const item of batch) {
          for (const { topic, message } of item.messages) {
            const size = message.value.length + message.key.length + 200;
            if (requestBytes > 0 && requestBytes + size > MAX_COALESCED_BYTES) {
              requests.push(new Map());
              requestBytes = 0;
            }
            requestBytes += size;
            const byTopic = requests[requests.length - 1]!;
            const list = byTopic.get(topic) ?? [];
            list.push(message);
            byTopic.set(topic, list);
          }
        }
        try {
          for (const byTopic of requests) {
            if (byTopic.size > 0) await this.producer.sendBatch({ acks: -1, topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) });
          }
          for (const item of batch) item.resolve();
        } catch (err) {
          const error = err instanceof Error ? err : new Error(String(err));
          for (const item of batch) item.reject(error);
        }
      }
    } finally {
      this.sending = false;
    }
  }

  /** The publish deadline in force (KAFKA_PUBLISH_TIMEOUT_MS). */
  get timeoutMs(): number {
    return this.publishTimeoutMs;
  }

  /** Sends raw bytes (dead-letter copies keep the original value untouched). */
  async sendRaw(
    topic: string,
    messages: Array<{ key: Buffer | string | null; value: Buffer | null; headers: Record<string, string | Buffer> }>,
  ): Promise<void> {
    if (!this.connected) throw new Error('producer is not connected');
    await this.producer.send({ topic, acks: -1, messages });
  }

  async disconnect(): Promise<void> {
    this.closing = true;
    if (!this.connected) return;
    this.connected = false;
    await this.producer.disconnect();
    this.logger.info({ event: 'kafka_producer_disconnected' });
  }
}

export interface PublishOptions {
  /** This call's deadline instead of KAFKA_PUBLISH_TIMEOUT_MS. */
  timeoutMs?: number;
}

/** calltrack_producer_send_duration_seconds{topic}, calltrack_producer_failures_total{topic,reason}; defined at load, listed from the start. */
const metrics = {
  duration: histogram({
    name: 'calltrack_producer_send_duration_seconds',
    help: 'Time from a publish call to the broker acknowledging every record (acks=all), for publishes that succeeded.',
    labelNames: ['topic'],
    buckets: LATENCY_BUCKETS,
  }),
  failures: counter({
    name: 'calltrack_producer_failures_total',
    help: 'Publish calls that failed: timeout (no acknowledgement within KAFKA_PUBLISH_TIMEOUT_MS), unavailable (refused, producer not connected), error.',
    labelNames: ['topic', 'reason'],
  }),
};
const producerMetrics = () => metrics;
