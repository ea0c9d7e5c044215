import { createPublicKey, type KeyObject } from 'node:crypto';
import { siteKey } from '@calltrack/contracts';
import { z } from 'zod';

/** Telephony providers with an adapter of their own (webhooks verified with per-site credentials). */
export const WEBHOOK_PROVIDERS = ['twilio', 'zadarma', 'mango', 'telnyx'] as const;
export type WebhookProvider = (typeof WEBHOOK_PROVIDERS)[number];

/** Every source of call reports, for counters and call ids ("<provider>:<provider call id>"). */
export type CallProvider = WebhookProvider | 'asterisk';

export type ProviderCredentials =
  | { provider: 'twilio'; authToken: string }
  | { provider: 'zadarma'; secret: string }
  | { provider: 'mango'; apiKey: string; apiSalt: string }
  | { provider: 'telnyx'; publicKey: string };

export type CredentialsOf<P extends WebhookProvider> = Extract<ProviderCredentials, { provider: P }>;

/**
 * Record key of a provider's credentials on telephony-secrets: site and provider,
 * so compaction keeps the latest credentials of each provider of a site (the
 * generic webhook's secret keeps the plain site key).
 */
export const providerCredentialsKey = (siteId: string, provider: WebhookProvider): string => `${siteKey(siteId)}:${provider}`;

export function isWebhookProvider(value: string): value is WebhookProvider {
  return (WEBHOOK_PROVIDERS as readonly string[]).includes(value);
}

// Printable ASCII without spaces: credentials are pasted from provider consoles and must survive shell quoting.
const token = (min: number, max: number) =>
  z
    .string()
    .min(min)
    .max(max)
    .regex(/^[\x21-\x7e]+$/, 'printable ASCII characters without spaces');

const TELNYX_KEY_BYTES = 32;

/** The Ed25519 public key of a base64 string of its raw 32 bytes (as the Telnyx portal shows it), or undefined. */
export function telnyxPublicKey(base64: string): KeyObject | undefined {
  if (!/^[A-Za-z0-9+/]{42,43}={0,2}$/.test(base64.trim())) return undefined;
  const raw = Buffer.from(base64.trim(), 'base64');
  if (raw.length !== TELNYX_KEY_BYTES) return undefined;
  try {
    // A raw key has no DER wrapper of its own: JWK (RFC 8037) carries it as "x".
    return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
  } catch {
    return undefined;
  }
}

const telnyxKey = z
  .string()
  .trim()
  .refine((v) => telnyxPublicKey(v) !== undefined, 'expected the base64 of a raw 32-byte Ed25519 public key (Telnyx portal: Keys & Credentials → Public Key)');

/** Bodies of `PUT /v1/admin/sites/:siteId/providers/:provider`, per provider. */
export const credentialsBodies = {
  // Twilio auth tokens are 32 hex characters; secondary tokens have the same shape.
  twilio: z.object({ authToken: token(16, 128) }).strict(),
  zadarma: z.object({ secret: token(8, 128) }).strict(),
  mango: z.object({ apiKey: token(8, 128), apiSalt: token(8, 128) }).strict(),
  telnyx: z.object({ publicKey: telnyxKey }).strict(),
} as const satisfies Record<WebhookProvider, z.ZodType>;

/** Credentials from an admin body (already validated by credentialsBodies[provider]). */
export function credentialsFromBody(provider: WebhookProvider, body: Record<string, string>): ProviderCredentials {
  switch (provider) {
    case 'twilio':
      return { provider, authToken: body['authToken']! };
    case 'zadarma':
      return { provider, secret: body['secret']! };
    case 'mango':
      return { provider, apiKey: body['apiKey']!, apiSalt: body['apiSalt']! };
    case 'telnyx':
      return { provider, publicKey: body['publicKey']! };
  }
}

/** The WebhookSecretSet fields that carry a provider's credentials. */
export function credentialsToRecord(c: ProviderCredentials): { provider: string; secret: string; apiKey: string; publicKey: string } {
  switch (c.provider) {
    case 'twilio':
      return { provider: c.provider, secret: c.authToken, apiKey: '', publicKey: '' };
    case 'zadarma':
      return { provider: c.provider, secret: c.secret, apiKey: '', publicKey: '' };
    case 'mango':
      return { provider: c.provider, secret: c.apiSalt, apiKey: c.apiKey, publicKey: '' };
    case 'telnyx':
      return { provider: c.provider, secret: '', apiKey: '', publicKey: c.publicKey };
  }
}

/**
 * Reads a provider's credentials back from a WebhookSecretSet, checking them as
 * the admin API does (a record written by anything else is refused, not trusted).
 */
export function credentialsFromRecord(r: {
  provider: string;
  secret: string;
  apiKey: string;
  publicKey: string;
}): { ok: true; credentials: ProviderCredentials } | { ok: false; problem: string } {
  if (!isWebhookProvider(r.provider)) return { ok: false, problem: `unknown provider "${r.provider}"` };
  const body: Record<string, string> = {
    twilio: { authToken: r.secret },
    zadarma: { secret: r.secret },
    mango: { apiKey: r.apiKey, apiSalt: r.secret },
    telnyx: { publicKey: r.publicKey },
  }[r.provider];
  const parsed = credentialsBodies[r.provider].safeParse(body);
  if (!parsed.success)
    return { ok: false, problem: `invalid ${r.provider} credentials: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}` };
  return { ok: true, credentials: credentialsFromBody(r.provider, parsed.data) };
}
