import { createHmac } from 'node:crypto';
import pRetry, { AbortError } from 'p-retry';
import { isRetryableStatus } from './conversion-payload.js';

export interface DeliveryPolicy {
  maxAttempts: number;
  initialBackoffMs: number;
  timeoutMs: number;
  secret?: string | undefined;
}

export class DeliveryFailedError extends Error {
  constructor(
    message: string,
    readonly attempts: number,
    /** False when the receiver refused the conversion itself (a 4xx other than 408/429): trying later cannot help. */
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = 'DeliveryFailedError';
  }
}

class HttpStatusError extends Error {
  constructor(
    readonly status: number,
    readonly retryAfterMs: number | undefined,
  ) {
    super(`HTTP ${status}`);
  }
}

const MAX_BACKOFF_MS = 30_000;

/**
 * POSTs one conversion with retries: network errors, timeouts, 408, 429 and 5xx
 * are retried with exponential backoff (Retry-After honoured, capped); other
 * 4xx fail at once. The Idempotency-Key lets the receiver drop a resend.
 */
export async function deliver(url: string, body: string, idempotencyKey: string, policy: DeliveryPolicy, onRetry?: () => Promise<void>): Promise<{ httpStatus: number; attempts: number }> {
  let attempts = 0;
  try {
    return await pRetry(
      async () => {
        attempts += 1;
        const headers: Record<string, string> = { 'content-type': 'application/json', 'idempotency-key': idempotencyKey, 'user-agent': 'calltrack-conversion-export/0.1' };
        if (policy.secret) {
          const ts = String(Math.floor(Date.now() / 1000));
          headers['x-calltrack-timestamp'] = ts;
          headers['x-calltrack-signature'] = `v1=${createHmac('sha256', policy.secret).update(`${ts}.${body}`).digest('hex')}`;
        }
        let res: Response;
        try {
          res = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(policy.timeoutMs), redirect: 'error' });
        } catch (err) {
          // p-retry does not retry TypeError unless it is a network error; fetch's are.
          throw new Error(`request failed: ${(err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message}`);
        }
        await res.body?.cancel().catch(() => undefined);
        if (res.ok) return { httpStatus: res.status, attempts };
        const retryAfter = Number(res.headers.get('retry-after'));
        const error = new HttpStatusError(res.status, Number.isFinite(retryAfter) && retryAfter > 0 ? Math.min(retryAfter * 1000, MAX_BACKOFF_MS) : undefined);
        if (!isRetryableStatus(res.status)) throw new AbortError(error);
        throw error;
      },
      {
        retries: policy.maxAttempts - 1,
        minTimeout: policy.initialBackoffMs,
        factor: 2,
        maxTimeout: MAX_BACKOFF_MS,
        onFailedAttempt: async ({ error, retriesLeft }) => {
          if (retriesLeft > 0 && error instanceof HttpStatusError && error.retryAfterMs) await new Promise((r) => setTimeout(r, error.retryAfterMs));
          await onRetry?.();
        },
      },
    );
  } catch (err) {
    const refused = err instanceof HttpStatusError && !isRetryableStatus(err.status);
    throw new DeliveryFailedError((err as Error).message, attempts, !refused);
  }
}
