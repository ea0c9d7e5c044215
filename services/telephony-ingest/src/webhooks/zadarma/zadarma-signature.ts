import { createHmac, timingSafeEqual } from 'node:crypto';
import type { SignatureFailure } from '../shared/webhook-signature.js';

export const ZADARMA_SIGNATURE_HEADER = 'signature';

/**
 * The fields whose values, concatenated in this order, Zadarma signs for each
 * event (its API docs and the user-api-v1 library's Notify* classes).
 */
export const ZADARMA_SIGNED_FIELDS: Readonly<Record<string, readonly string[]>> = {
  NOTIFY_START: ['caller_id', 'called_did', 'call_start'],
  NOTIFY_INTERNAL: ['caller_id', 'called_did', 'call_start'],
  NOTIFY_IVR: ['caller_id', 'called_did', 'call_start'],
  NOTIFY_ANSWER: ['caller_id', 'destination', 'call_start'],
  NOTIFY_END: ['caller_id', 'called_did', 'call_start'],
  NOTIFY_OUT_START: ['internal', 'destination', 'call_start'],
  NOTIFY_OUT_END: ['internal', 'destination', 'call_start'],
  NOTIFY_RECORD: ['pbx_call_id', 'call_id_with_rec'],
};

/**
 * Zadarma's `Signature` header: base64_encode(hash_hmac('sha1', S, secret)) in
 * PHP, where hash_hmac returns lowercase hex — so it is the Base64 of the hex
 * text (56 characters), not of the raw 20 bytes.
 */
export function zadarmaSignature(secret: string, signed: string): string {
  return Buffer.from(createHmac('sha1', secret).update(signed, 'utf8').digest('hex'), 'utf8').toString('base64');
}

/** The signed string of an event (absent fields count as empty, as in PHP), or undefined for an event without a documented scheme. */
export function zadarmaSignedString(form: Record<string, string>): string | undefined {
  const fields = ZADARMA_SIGNED_FIELDS[form['event'] ?? ''];
  return fields?.map((f) => form[f] ?? '').join('');
}

export function verifyZadarmaSignature(input: {
  secret: string;
  form: Record<string, string>;
  signature: string | string[] | undefined;
}): { ok: true } | { ok: false; reason: SignatureFailure } {
  const { signature } = input;
  if (signature === undefined || signature === '') return { ok: false, reason: 'missing_signature' };
  if (typeof signature !== 'string' || !/^[A-Za-z0-9+/]{54}==$/.test(signature.trim())) return { ok: false, reason: 'malformed_signature' };
  const signed = zadarmaSignedString(input.form);
  // An event we cannot name the signed fields of cannot be verified: refused, not trusted.
  if (signed === undefined) return { ok: false, reason: 'signature_mismatch' };
  const expected = Buffer.from(zadarmaSignature(input.secret, signed), 'utf8');
  const given = Buffer.from(signature.trim(), 'utf8');
  return timingSafeEqual(given, expected) ? { ok: true } : { ok: false, reason: 'signature_mismatch' };
}
