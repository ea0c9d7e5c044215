import { createHash, timingSafeEqual } from 'node:crypto';
import type { SignatureFailure } from '../shared/webhook-signature.js';

/**
 * Mango Office's request signature (form field `sign`): lowercase hex
 * SHA-256 of vpbx_api_key + json + vpbx_api_salt, the `json` field exactly as
 * sent.
 */
export function mangoSign(apiKey: string, json: string, apiSalt: string): string {
  return createHash('sha256')
    .update(apiKey + json + apiSalt, 'utf8')
    .digest('hex');
}

const sha256 = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** Checks vpbx_api_key (it names the account) and sign, both in constant time. */
export function verifyMangoSignature(input: {
  apiKey: string;
  apiSalt: string;
  form: Record<string, string>;
}): { ok: true; json: string } | { ok: false; reason: SignatureFailure } {
  const { vpbx_api_key: key, sign, json } = input.form;
  if (!key || !sign) return { ok: false, reason: 'missing_signature' };
  if (!/^[0-9a-fA-F]{64}$/.test(sign.trim())) return { ok: false, reason: 'malformed_signature' };
  // Hashing first gives equal lengths for the constant-time comparison of the key.
  if (!timingSafeEqual(sha256(key), sha256(input.apiKey))) return { ok: false, reason: 'signature_mismatch' };
  const expected = Buffer.from(mangoSign(input.apiKey, json ?? '', input.apiSalt), 'hex');
  if (!timingSafeEqual(Buffer.from(sign.trim(), 'hex'), expected)) return { ok: false, reason: 'signature_mismatch' };
  return { ok: true, json: json ?? '' };
}
