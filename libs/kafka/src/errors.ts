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
