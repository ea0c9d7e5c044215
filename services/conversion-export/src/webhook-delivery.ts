import { createHmac } from 'node:crypto';
import { isRetryableStatus } from './conversion-payload.js';

export interface DeliveryPolicy {
  maxAttempts: number;
  initialBackoffMs: number;
  /** Time limit of one request (it also ends at the round's deadline). */
  timeoutMs: number;
  /**
   * Time limit of the whole round (requests and waits between them). Kept a fraction of the
   * consumer's session timeout, so one conversion never holds its partition long enough to get
   * the member evicted; what does not succeed in time is parked on the retry tier.
   */
  roundTimeoutMs: number;
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

const MAX_BACKOFF_MS = 30_000;
// No attempt is started with less time than this left in the round: it could only time out.
const MIN_ATTEMPT_MS = 100;
// Longest wait between two heartbeats while waiting for the next attempt.
const HEARTBEAT_SLICE_MS = 1_000;

/** Header values must be visible ASCII; ids are percent-encoded before they get here (idempotencyKey()). */
const HEADER_SAFE = /^[\x21-\x7e]+$/;

type Attempt = { ok: true; status: number } | { ok: false; retryable: boolean; message: string; retryAfterMs?: number | undefined };

/**
 * POSTs one conversion, in one round of attempts that ends by `roundTimeoutMs`: network errors,
 * timeouts, 408, 429 and 5xx are retried with exponential backoff (a `Retry-After` is waited
 * for when it fits in the round, otherwise the round ends at once); other 4xx fail at once and
 * for good. `heartbeat` is called before each wait slice, so the consumer stays in its group.
 * The Idempotency-Key lets the receiver drop a resend.
 */
export async function deliver(
  url: string,
  body: string,
  idempotencyKey: string,
  policy: DeliveryPolicy,
  heartbeat?: () => Promise<void>,
): Promise<{ httpStatus: number; attempts: number }> {
  // A value fetch cannot send would fail every attempt the same way: refuse it, never retry it.
  if (!HEADER_SAFE.test(idempotencyKey)) throw new DeliveryFailedError('Idempotency-Key is not a valid header value', 0, false);
  const deadline = Date.now() + policy.roundTimeoutMs;
  let backoff = policy.initialBackoffMs;
  for (let attempts = 1; ; attempts += 1) {
    const result = await attempt(url, body, idempotencyKey, policy, deadline);
    if (result.ok) return { httpStatus: result.status, attempts };
    if (!result.retryable) throw new DeliveryFailedError(result.message, attempts, false);
    const wait = result.retryAfterMs ?? backoff;
    backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
    if (attempts >= policy.maxAttempts) throw new DeliveryFailedError(result.message, attempts, true);
    if (deadline - Date.now() - wait < MIN_ATTEMPT_MS) {
      const why = result.retryAfterMs !== undefined ? `Retry-After ${Math.ceil(wait / 1000)} s is beyond this round` : 'round time limit reached';
      throw new DeliveryFailedError(`${result.message} (${why})`, attempts, true);
    }
    await waitHeartbeating(wait, heartbeat);
  }
}

async function attempt(url: string, body: string, idempotencyKey: string, policy: DeliveryPolicy, deadline: number): Promise<Attempt> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'idempotency-key': idempotencyKey,
    'user-agent': 'calltrack-conversion-export/0.1',
  };
  if (policy.secret) {
    const ts = String(Math.floor(Date.now() / 1000));
    headers['x-calltrack-timestamp'] = ts;
    headers['x-calltrack-signature'] = `v1=${createHmac('sha256', policy.secret).update(`${ts}.${body}`).digest('hex')}`;
  }
  const timeoutMs = Math.max(1, Math.min(policy.timeoutMs, deadline - Date.now()));
  let res: Response;
  try {
    res = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(timeoutMs), redirect: 'error' });
  } catch (err) {
    const e = err as Error;
    const reason = e.name === 'TimeoutError' ? `timed out after ${timeoutMs} ms` : e.cause instanceof Error ? e.cause.message : e.message;
    return { ok: false, retryable: true, message: `request failed: ${reason}` };
  }
  await res.body?.cancel().catch(() => undefined);
  if (res.ok) return { ok: true, status: res.status };
  return { ok: false, retryable: isRetryableStatus(res.status), message: `HTTP ${res.status}`, retryAfterMs: retryAfterMs(res.headers.get('retry-after')) };
}

/** `Retry-After` as delay-seconds or an HTTP date (RFC 9110 §10.2.3); undefined when absent or unreadable. */
export function retryAfterMs(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

async function waitHeartbeating(ms: number, heartbeat: (() => Promise<void>) | undefined): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    await heartbeat?.();
    const left = until - Date.now();
    if (left <= 0) return;
    await new Promise((r) => setTimeout(r, Math.min(left, HEARTBEAT_SLICE_MS)));
  }
}
