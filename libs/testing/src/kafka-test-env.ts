import { randomUUID } from 'node:crypto';
import { decodeEvent, deadLetterTopicName, topicName, type AnyDomainEvent, type TopicKey } from '@calltrack/contracts';
import { createKafka, provisionTopics, type KafkaJs, type KafkaSettings } from '@calltrack/kafka';
import { createLogger, type Logger } from '@calltrack/telemetry';

/** Brokers of the run's shared test broker (started once by scripts/test.sh). */
export const testBrokers = (): string => process.env['KAFKA_BROKERS'] ?? '127.0.0.1:9092';

/**
 * Publish deadline of the tests' own clients and of the services they start: the suite must
 * pass on a machine kept busy by a CPU hog, where one broker acknowledgement can take longer
 * than the production default (5 s); what the tests check is what happens, not how fast.
 * The deadline tests set their own, short one.
 */
export const TEST_PUBLISH_TIMEOUT_MS = 30_000;

export const testLogger: Logger = createLogger('test', process.env['TEST_LOG_LEVEL'] ?? 'silent');

export interface KafkaTestEnv {
  prefix: string;
  brokers: string;
  settings: KafkaSettings;
  kafka: KafkaJs;
  /** Environment variables a service under test needs to use this isolated topic set. */
  env: { KAFKA_BROKERS: string; KAFKA_TOPIC_PREFIX: string; KAFKA_PUBLISH_TIMEOUT_MS: string };
  topic(key: TopicKey): string;
}

/**
 * An isolated set of the registry's topics on the shared broker: every test
 * file (or test) gets its own prefix, so tests never see each other's records.
 */
export async function createKafkaTestEnv(label = 't'): Promise<KafkaTestEnv> {
  const prefix = `test.${label}.${randomUUID().slice(0, 8)}.`;
  const brokers = testBrokers();
  const settings: KafkaSettings = { brokers: brokers.split(','), clientId: `test-${label}`, prefix, maxRetries: 2, publishTimeoutMs: TEST_PUBLISH_TIMEOUT_MS };
  const kafka = createKafka(settings, testLogger);
  await provisionTopics(kafka, prefix, testLogger);
  return {
    prefix,
    brokers,
    settings,
    kafka,
    env: { KAFKA_BROKERS: brokers, KAFKA_TOPIC_PREFIX: prefix, KAFKA_PUBLISH_TIMEOUT_MS: String(TEST_PUBLISH_TIMEOUT_MS) },
    topic: (key) => topicName(key, prefix),
  };
}

export interface RawRecord {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  value: Buffer | null;
  headers: Record<string, string>;
}

/**
 * Reads every record of some topics (from the beginning) into memory so tests
 * can assert on what services published, including dead-letter topics.
 */
export class TopicProbe {
  readonly records: RawRecord[] = [];
  private consumer: ReturnType<KafkaJs['consumer']> | undefined;

  constructor(
    private readonly env: KafkaTestEnv,
    private readonly topics: string[],
  ) {}

  static async start(env: KafkaTestEnv, topics: Array<TopicKey | { dlq: TopicKey }>): Promise<TopicProbe> {
    const names = topics.map((t) => (typeof t === 'string' ? env.topic(t) : deadLetterTopicName(env.topic(t.dlq))));
    const probe = new TopicProbe(env, names);
    await probe.run();
    return probe;
  }

  private async run(): Promise<void> {
    this.consumer = this.env.kafka.consumer({ groupId: `${this.env.prefix}probe-${randomUUID()}`, maxWaitTimeInMs: 50 });
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: this.topics, fromBeginning: true });
    let joined!: () => void;
    const ready = new Promise<void>((r) => (joined = r));
    this.consumer.on(this.consumer.events.GROUP_JOIN, () => joined());
    await this.consumer.run({
      eachMessage: async ({ topic, partition, message }) => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(message.headers ?? {})) if (v !== undefined) headers[k] = Array.isArray(v) ? String(v[0]) : String(v);
        this.records.push({ topic, partition, offset: message.offset, key: message.key?.toString('utf8') ?? null, value: message.value, headers });
      },
    });
    await ready;
  }

  /** Decoded events of one topic (undecodable records are skipped). */
  events(key: TopicKey): AnyDomainEvent[] {
    const name = this.env.topic(key);
    const out: AnyDomainEvent[] = [];
    for (const r of this.records) {
      if (r.topic !== name) continue;
      try {
        out.push(decodeEvent(r.value));
      } catch {
        // not an event; dead-letter assertions read raw records
      }
    }
    return out;
  }

  deadLetters(key: TopicKey): RawRecord[] {
    const name = deadLetterTopicName(this.env.topic(key));
    return this.records.filter((r) => r.topic === name);
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
  }
}

/** Produces raw bytes (malformed records, foreign tenants) straight onto a topic. */
export async function produceRaw(
  env: KafkaTestEnv,
  topic: TopicKey,
  messages: Array<{ key: string | null; value: Buffer | string | null; headers?: Record<string, string> }>,
): Promise<void> {
  const producer = env.kafka.producer();
  await producer.connect();
  try {
    await producer.send({ topic: env.topic(topic), messages: messages.map((m) => ({ key: m.key, value: m.value, headers: m.headers ?? {} })) });
  } finally {
    await producer.disconnect();
  }
}
