/**
 * A record that can never succeed (invalid content, violated invariant).
 * The consumer dead-letters it at once instead of retrying.
 */
export class NonRetriableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NonRetriableError';
  }
}

// Broker answers that pass on their own: a topic or leader not yet known after a create or a
// restart, a leader or controller that moved, a slow broker.
const TRANSIENT_TYPES = new Set([
  'UNKNOWN_TOPIC_OR_PARTITION',
  'LEADER_NOT_AVAILABLE',
  'NOT_LEADER_FOR_PARTITION',
  'NOT_CONTROLLER',
  'REQUEST_TIMED_OUT',
  'NETWORK_EXCEPTION',
  'COORDINATOR_LOAD_IN_PROGRESS',
  'COORDINATOR_NOT_AVAILABLE',
  'NOT_COORDINATOR',
  'PREFERRED_LEADER_NOT_AVAILABLE',
  'KAFKA_STORAGE_ERROR',
  'FENCED_LEADER_EPOCH',
  'UNKNOWN_LEADER_EPOCH',
  'OFFSET_NOT_AVAILABLE',
]);
// kafkajs client-side errors that mean "the cluster is not reachable or not ready yet".
const TRANSIENT_NAMES = new Set([
  'KafkaJSNumberOfRetriesExceeded',
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSBrokerNotFound',
  'KafkaJSGroupCoordinatorNotFound',
  'KafkaJSNoBrokerAvailableError',
  'KafkaJSMetadataNotLoaded',
  'KafkaJSTopicMetadataNotLoaded',
  'KafkaJSStaleTopicMetadataAssignment',
  'KafkaJSTimeout',
  'KafkaJSLockTimeout',
  'MetadataUnansweredError',
]);

/**
 * True for a Kafka error worth trying again (a broker's transient answer, a lost
 * connection, retries of the client itself exhausted), following `cause` chains
 * and aggregate errors (every inner error must be transient).
 */
export function isTransientKafkaError(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 10; e = (e as { cause?: unknown }).cause, depth++) {
    const x = e as Error & { type?: string; retriable?: boolean; errors?: unknown[] };
    if (Array.isArray(x.errors) && x.errors.length > 0)
      return x.errors.every((inner) => isTransientKafkaError(inner) || (inner as { type?: string }).type === 'TOPIC_ALREADY_EXISTS');
    if (x.type && TRANSIENT_TYPES.has(x.type)) return true;
    if (TRANSIENT_NAMES.has(x.name)) return true;
    if (x.retriable === true && x.name.startsWith('KafkaJS')) return true;
  }
  return false;
}

/** The broker's error type (e.g. UNKNOWN_TOPIC_OR_PARTITION) of a kafkajs error or of its causes. */
export function kafkaErrorType(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 10; e = (e as { cause?: unknown }).cause, depth++) {
    const type = (e as { type?: unknown }).type;
    if (typeof type === 'string') return type;
  }
  return undefined;
}

/**
 * No broker answered a metadata request (all timed out or dropped the connection): kafkajs's
 * admin then fails with a TypeError on a null answer instead of an error of its own (seen on a
 * starved machine during start-up), which would otherwise read as a programming error.
 */
export class MetadataUnansweredError extends Error {
  constructor(options?: { cause?: unknown }) {
    super('no broker answered the metadata request', options);
    this.name = 'MetadataUnansweredError';
  }
}

/** Seconds an HTTP client is told to wait (Retry-After) before sending again what could not be made durable. */
export const PUBLISH_RETRY_AFTER_SECONDS = 5;

/**
 * Events could not be made durable: the broker did not acknowledge them within the
 * publish deadline (KAFKA_PUBLISH_TIMEOUT_MS), refused them, or the producer is not
 * connected. HTTP paths answer 503 with Retry-After; the sender retries with the same
 * event ids, so a publish that still lands after its deadline is deduplicated downstream.
 */
export class PublishUnavailableError extends Error {
  readonly retryAfterSeconds = PUBLISH_RETRY_AFTER_SECONDS;

  constructor(
    message: string,
    /** True when the deadline passed (the records may still land later); false for a refusal. */
    readonly timedOut: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'PublishUnavailableError';
  }
}
