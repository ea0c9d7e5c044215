import { createHmac, timingSafeEqual } from 'node:crypto';

/** Header carrying the unix time (seconds) the provider signed the request at. */
export const TIMESTAMP_HEADER = 'x-calltrack-timestamp';
/** Header carrying `v1=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>`. */
export const SIGNATURE_HEADER = 'x-calltrack-signature';

/** Why a signature was refused; each one is counted per site. */
export type SignatureFailure = 'missing_signature' | 'malformed_signature' | 'signature_mismatch' | 'stale_timestamp';

export type SignatureCheck = { ok: true; timestampSeconds: number } | { ok: false; reason: SignatureFailure };

export interface SignatureInput {
  secret: string;
  timestamp: string | string[] | undefined;
  signature: string | string[] | undefined;
  rawBody: Buffer;
  nowMs: number;
  toleranceSeconds: number;
}

const TIMESTAMP = /^\d{1,12}$/;
const SIGNATURE = /^v1=([0-9a-fA-F]{64})$/;

function hmac(secret: string, timestamp: string, rawBody: Buffer | string): Buffer {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(rawBody).digest();
}

/** Computes the signature header value a provider sends (also used by tests and the docs example). */
export function signWebhook(secret: string, timestamp: string | number, rawBody: Buffer | string): string {
  return `v1=${hmac(secret, String(timestamp), rawBody).toString('hex')}`;
}

/**
 * Verifies a webhook's signature over the exact bytes received, in constant
 * time, then the replay window. The timestamp is checked only after the
 * signature, so an unsigned caller learns nothing about the server clock.
 */
export function verifyWebhookSignature(input: SignatureInput): SignatureCheck {
  const { timestamp, signature } = input;
  if (timestamp === undefined || signature === undefined || timestamp === '' || signature === '') return { ok: false, reason: 'missing_signature' };
  // A repeated header arrives as an array: ambiguous, so refused.
  if (typeof timestamp !== 'string' || typeof signature !== 'string') return { ok: false, reason: 'malformed_signature' };
  const ts = timestamp.trim();
  const match = SIGNATURE.exec(signature.trim());
  if (!TIMESTAMP.test(ts) || !match) return { ok: false, reason: 'malformed_signature' };
  const given = Buffer.from(match[1]!, 'hex');
  const expected = hmac(input.secret, ts, input.rawBody);
  if (!timingSafeEqual(given, expected)) return { ok: false, reason: 'signature_mismatch' };
  const timestampSeconds = Number(ts);
  if (Math.abs(input.nowMs / 1000 - timestampSeconds) > input.toleranceSeconds) return { ok: false, reason: 'stale_timestamp' };
  return { ok: true, timestampSeconds };
}
