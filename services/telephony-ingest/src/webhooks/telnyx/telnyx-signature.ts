import { verify, type KeyObject } from 'node:crypto';
import type { SignatureFailure } from '../shared/webhook-signature.js';

export const TELNYX_SIGNATURE_HEADER = 'telnyx-signature-ed25519';
export const TELNYX_TIMESTAMP_HEADER = 'telnyx-timestamp';

const TIMESTAMP = /^\d{1,12}$/;
const ED25519_SIGNATURE_BYTES = 64;

/** The bytes Telnyx signs: `<telnyx-timestamp>|<raw body>`. */
export function telnyxSignedPayload(timestamp: string, rawBody: Buffer | string): Buffer {
  return Buffer.concat([Buffer.from(`${timestamp}|`, 'utf8'), Buffer.isBuffer(rawBody) ? rawBody : Buffer.from(rawBody, 'utf8')]);
}

/**
 * Verifies Telnyx's Ed25519 webhook signature (node:crypto) over the exact
 * bytes received, then the replay window. The window is checked only after the
 * signature, so an unsigned caller learns nothing about the server clock.
 */
export function verifyTelnyxSignature(input: {
  publicKey: KeyObject;
  signature: string | string[] | undefined;
  timestamp: string | string[] | undefined;
  rawBody: Buffer;
  nowMs: number;
  toleranceSeconds: number;
}): { ok: true; timestampSeconds: number } | { ok: false; reason: SignatureFailure } {
  const { signature, timestamp } = input;
  if (signature === undefined || timestamp === undefined || signature === '' || timestamp === '') return { ok: false, reason: 'missing_signature' };
  if (typeof signature !== 'string' || typeof timestamp !== 'string') return { ok: false, reason: 'malformed_signature' };
  const ts = timestamp.trim();
  const sig = Buffer.from(signature.trim(), 'base64');
  if (!TIMESTAMP.test(ts) || !/^[A-Za-z0-9+/]+={0,2}$/.test(signature.trim()) || sig.length !== ED25519_SIGNATURE_BYTES)
    return { ok: false, reason: 'malformed_signature' };
  if (!verify(null, telnyxSignedPayload(ts, input.rawBody), input.publicKey, sig)) return { ok: false, reason: 'signature_mismatch' };
  const timestampSeconds = Number(ts);
  if (Math.abs(input.nowMs / 1000 - timestampSeconds) > input.toleranceSeconds) return { ok: false, reason: 'stale_timestamp' };
  return { ok: true, timestampSeconds };
}
