import { createHmac, timingSafeEqual } from 'node:crypto';
import type { SignatureFailure } from '../shared/webhook-signature.js';

export const TWILIO_SIGNATURE_HEADER = 'x-twilio-signature';

/** Form parameters as received: a name may repeat. */
export type FormParams = ReadonlyArray<readonly [string, string]>;

/**
 * Twilio's request signature: Base64(HMAC-SHA1(auth token, the full URL as
 * requested + every POST parameter sorted by name, name and value
 * concatenated without separators)). A repeated name contributes each of its
 * distinct values in sorted order, as Twilio's own helper libraries do.
 */
export function twilioSignature(authToken: string, url: string, params: FormParams): string {
  const byName = new Map<string, Set<string>>();
  for (const [name, value] of params) {
    let values = byName.get(name);
    if (!values) byName.set(name, (values = new Set()));
    values.add(value);
  }
  const hmac = createHmac('sha1', authToken).update(url, 'utf8');
  // Code-unit order, like JavaScript's default sort in Twilio's Node helper.
  for (const name of [...byName.keys()].sort()) {
    for (const value of [...byName.get(name)!].sort()) hmac.update(name + value, 'utf8');
  }
  return hmac.digest('base64');
}

// Twilio may sign the URL with or without the scheme's default port (its helper libraries accept both).
function urlVariants(url: string): string[] {
  const m = /^(https?):\/\/([^/?#]+)(.*)$/i.exec(url);
  if (!m) return [url];
  const [, scheme, authority, rest] = m as unknown as [string, string, string, string];
  const defaultPort = scheme.toLowerCase() === 'https' ? '443' : '80';
  const port = /:(\d+)$/.exec(authority)?.[1];
  if (port === defaultPort) return [url, `${scheme}://${authority.slice(0, -(port.length + 1))}${rest}`];
  if (port === undefined) return [url, `${scheme}://${authority}:${defaultPort}${rest}`];
  return [url];
}

const BASE64_SHA1 = /^[A-Za-z0-9+/]{27}=$/;

/** Verifies X-Twilio-Signature in constant time against the URL with and without its default port. */
export function verifyTwilioSignature(input: {
  authToken: string;
  url: string;
  params: FormParams;
  signature: string | string[] | undefined;
}): { ok: true } | { ok: false; reason: SignatureFailure } {
  const { signature } = input;
  if (signature === undefined || signature === '') return { ok: false, reason: 'missing_signature' };
  if (typeof signature !== 'string' || !BASE64_SHA1.test(signature.trim())) return { ok: false, reason: 'malformed_signature' };
  const given = Buffer.from(signature.trim(), 'base64');
  for (const url of urlVariants(input.url)) {
    const expected = Buffer.from(twilioSignature(input.authToken, url, input.params), 'base64');
    if (timingSafeEqual(given, expected)) return { ok: true };
  }
  return { ok: false, reason: 'signature_mismatch' };
}
