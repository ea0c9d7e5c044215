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
