import kafkajs from 'kafkajs';
import type { ConnectionOptions } from 'node:tls';
import type { Logger } from '@calltrack/telemetry';
import { kafkaSecurityFromConfig, type KafkaSecurityConfig } from './kafka-security.js';

// kafkajs is in maintenance mode: every use of it stays inside libs/kafka so a
// switch to another client (e.g. @confluentinc/kafka-javascript's KafkaJS API) is one change.
const { Kafka, logLevel, Partitioners } = kafkajs;
export { Partitioners };
export type KafkaJs = InstanceType<typeof Kafka>;

export interface KafkaSettings {
  brokers: string[];
  clientId: string;
  /** Prefix of every topic and consumer group (test isolation, shared clusters). */
  prefix: string;
  /** true: TLS with Node's CA bundle; TLS options: a private CA and/or a client certificate (mTLS). */
  ssl?: boolean | ConnectionOptions;
  sasl?: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string };
  /** In-process attempts for a failing record before it is dead-lettered. */
  maxRetries?: number;
  /** Consumer group session timeout: how long a dead member keeps its partitions. */
  sessionTimeoutMs?: number;
  /** How long a publish may wait for the broker's acknowledgement before it fails (HTTP paths answer 503). */
  publishTimeoutMs?: number;
  /** Liveness: a joined consumer with lag and no progress for this long is stalled (0 or unset: never). */
  consumerStallMs?: number;
}

/** Reads the common KAFKA_* variables (already validated by @calltrack/config), and the security files they name. */
export function kafkaSettingsFromConfig(
  service: string,
  config: KafkaSecurityConfig & {
    KAFKA_BROKERS: string;
    KAFKA_TOPIC_PREFIX: string;
    KAFKA_CLIENT_ID?: string | undefined;
    KAFKA_MAX_RETRIES?: number;
    KAFKA_SESSION_TIMEOUT_MS?: number;
    KAFKA_PUBLISH_TIMEOUT_MS?: number;
    KAFKA_CONSUMER_STALL_SECONDS?: number;
  },
): KafkaSettings {
  const { ssl, sasl } = kafkaSecurityFromConfig(config);
  return {
    brokers: config.KAFKA_BROKERS.split(',')
      .map((b) => b.trim())
      .filter(Boolean),
    clientId: config.KAFKA_CLIENT_ID ?? service,
    prefix: config.KAFKA_TOPIC_PREFIX,
    ssl,
    ...(sasl ? { sasl } : {}),
    maxRetries: config.KAFKA_MAX_RETRIES ?? 5,
    sessionTimeoutMs: config.KAFKA_SESSION_TIMEOUT_MS ?? 15_000,
    publishTimeoutMs: config.KAFKA_PUBLISH_TIMEOUT_MS ?? 5000,
    consumerStallMs: (config.KAFKA_CONSUMER_STALL_SECONDS ?? 300) * 1000,
  };
}

const LEVELS: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

const TRANSIENT_ANSWERS = [
  'This server does not host this topic-partition',
  'There is no leader for this topic-partition',
  'This server is not the leader for that topic-partition',
];

export function createKafka(settings: KafkaSettings, logger: Logger): KafkaJs {
  return new Kafka({
    clientId: settings.clientId,
    brokers: settings.brokers,
    ssl: settings.ssl ?? false,
    ...(settings.sasl ? { sasl: settings.sasl as never } : {}),
    connectionTimeout: 3000,
    requestTimeout: 30_000,
    retry: { initialRetryTime: 300, retries: 8, maxRetryTime: 10_000 },
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ level, log }) => {
        const { message, ...extra } = log;
        // Retries of the idempotent producer are bounded on purpose (a publish must fail, not hang), so this warning is noise.
        if (typeof message === 'string' && message.startsWith('Limiting retries for the idempotent producer')) return;
        // A heartbeat answered "rebalancing" is how every member learns of a join or leave: routine, not an error.
        const error: unknown = extra['error'];
        if (typeof error === 'string' && error.includes('group is rebalancing')) {
          logger.info({ event: 'kafka_group_rebalancing', ...extra }, message);
          return;
        }
        // Answers retried by kafkajs or by the callers (provisioning, replay, the consumers' supervisor), which log their
        // own retries and failures: a topic not known yet, no leader yet, a leader moved.
        if (typeof error === 'string' && TRANSIENT_ANSWERS.some((a) => error.startsWith(a))) {
          logger.debug({ event: 'kafka_client', ...extra }, message);
          return;
        }
        // kafkajs logs its own retries at WARN/ERROR; keep them structured.
        logger[LEVELS[level] ?? 'info']({ event: 'kafka_client', ...extra }, message);
      },
  });
}

const defaultPartitioner = Partitioners.DefaultPartitioner();

/**
 * The partition a keyed record lands on, as the producer computes it (Java-compatible
 * murmur2 of the key, modulo the partition count): how a single writer tells which
 * sites its partitions hold.
 */
export function partitionOf(key: string, partitions: number): number {
  const partitionMetadata = Array.from({ length: partitions }, (_, partitionId) => ({
    partitionId,
    leader: 0,
    partitionErrorCode: 0,
    replicas: [0],
    isr: [0],
  }));
  return defaultPartitioner({ topic: '', partitionMetadata, message: { key, value: null } });
}
