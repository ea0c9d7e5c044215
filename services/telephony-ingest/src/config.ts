import { adminTokenVariable, commonVariables, loadConfig, portVariable, variable } from '@calltrack/config';
import { z } from 'zod';
import { amiPbxListSchema } from './asterisk/asterisk-ami-config.js';
import { sourceAddressList } from './webhooks/shared/source-allowlist.js';

export const SERVICE_NAME = 'telephony-ingest';

const publicBaseUrl = z
  .url({ protocol: /^https?$/, error: 'expected an http or https URL' })
  .refine((u) => !/[?#]/.test(u), 'must not have a query or fragment')
  .transform((u) => u.replace(/\/+$/, ''));

export const telephonyIngestConfigSchema = z.object({
  ...commonVariables,
  PORT: portVariable(8083),
  ADMIN_TOKEN: adminTokenVariable(),
  WEBHOOK_TOLERANCE_SECONDS: variable(z.coerce.number().int().min(30).max(3600).default(300), {
    description:
      'Replay window of timestamped webhook signatures: a webhook whose signed timestamp (generic X-Calltrack-Timestamp, Telnyx telnyx-timestamp) is ' +
      'further than this from the server clock is rejected (401 stale_timestamp).',
  }),
  EVENT_TIME_MAX_AGE_DAYS: variable(z.coerce.number().int().min(1).max(400).default(30), {
    description:
      'Oldest time any adapter accepts (provider webhooks, generic webhook, enquiry API, Asterisk AMI), in days before the moment of receipt: a call or ' +
      'enquiry time further back is refused with 400 naming the field (AMI: the event is dropped and logged).',
  }),
  EVENT_TIME_MAX_FUTURE_SECONDS: variable(z.coerce.number().int().min(0).max(3600).default(300), {
    description: "How far after the moment of receipt a received time may lie (the sender's clock skew); later ones are refused with 400 naming the field.",
  }),
  ZADARMA_MAX_CALL_SECONDS: variable(
    z.coerce
      .number()
      .int()
      .min(600)
      .max(7 * 24 * 3600)
      .default(4 * 3600),
    {
      description:
        'Replay window of Zadarma notifications after their signed call_start: an answer or end is accepted up to this long ' +
        '(plus WEBHOOK_TOLERANCE_SECONDS) after call_start, a start only within WEBHOOK_TOLERANCE_SECONDS of it. ' +
        'The end of a longer call is refused (401 stale_timestamp).',
    },
  ),
  ZADARMA_SOURCE_ADDRESSES: variable(sourceAddressList, {
    description:
      'Comma-separated IP addresses or CIDR ranges Zadarma notifications are accepted from (e.g. 185.45.152.42, the address Zadarma documents); other ' +
      'sources get 403. Empty (default): any source, the signature alone decides.',
  }),
  MANGO_SOURCE_ADDRESSES: variable(sourceAddressList, {
    description:
      'Comma-separated IP addresses or CIDR ranges Mango Office events are accepted from (e.g. ' +
      '81.88.80.132,81.88.80.133,81.88.82.36,81.88.82.44,81.88.82.45, the addresses Mango documents); other sources get 403. Empty (default): any source.',
  }),
  WEBHOOK_BODY_LIMIT_BYTES: variable(
    z.coerce
      .number()
      .int()
      .min(1024)
      .max(10 * 1024 * 1024)
      .default(64 * 1024),
    {
      description: 'Largest accepted request body in bytes; larger webhooks get 413.',
    },
  ),
  WEBHOOK_RATE_LIMIT_PER_ADDRESS_PER_MINUTE: variable(z.coerce.number().int().min(1).default(6000), {
    description:
      'Call webhooks (generic and every provider) one client address may send per minute to this instance; more get 429 with Retry-After (providers retry). ' +
      'Providers send from few addresses: keep it generous.',
  }),
  WEBHOOK_RATE_LIMIT_PER_SITE_PER_MINUTE: variable(z.coerce.number().int().min(1).default(6000), {
    description: 'Call webhooks for one site per minute to this instance, whatever their sender; more get 429 with Retry-After.',
  }),
  ENQUIRY_RATE_LIMIT_PER_ADDRESS_PER_MINUTE: variable(z.coerce.number().int().min(1).default(600), {
    description: 'Enquiries one client address may send per minute to this instance; more get 429 with Retry-After.',
  }),
  ENQUIRY_RATE_LIMIT_PER_SITE_PER_MINUTE: variable(z.coerce.number().int().min(1).default(1200), {
    description: 'Enquiries for one site per minute to this instance; more get 429 with Retry-After.',
  }),
  PUBLIC_BASE_URL: variable(publicBaseUrl.optional(), {
    description:
      'The public URL of this service as providers call it (scheme://host[:port][/path prefix], e.g. https://hooks.example.com/calltrack). Twilio signs the ' +
      'full URL it requested, so behind a proxy or TLS terminator set this (or trust the proxy with HTTP_TRUST_PROXY so X-Forwarded-Proto/Host are used); ' +
      'without either the URL is rebuilt from the request as received.',
  }),
  CALL_MERGE_CACHE_SIZE: variable(z.coerce.number().int().min(100).max(5_000_000).default(100_000), {
    description:
      'How many recent calls of the provider adapters are kept in memory to merge their repeated and out-of-order events into one call record (least ' +
      'recently used calls are forgotten first).',
  }),
  ASTERISK_AMI_PBXES: variable(amiPbxListSchema.default([]), {
    description:
      'Asterisk PBXes to follow over AMI, as a JSON array: [{"siteId":"acme","host":"pbx.acme.lan","port":5038,"username":"calltrack","secret":"…",' +
      '"name":"main","inboundContexts":["from-trunk","from-pstn"],"outboundContexts":["from-internal"],"timeZone":"Europe/Moscow"}] (port, name, contexts ' +
      'and timeZone optional; see docs/telephony-providers.md). Empty: no AMI connection.',
    sensitive: true,
  }),
  ASTERISK_AMI_RECONNECT_MIN_MS: variable(z.coerce.number().int().min(10).max(60_000).default(1000), {
    description: 'First delay before reconnecting to a PBX whose AMI connection failed or dropped; doubles on every failed attempt.',
  }),
  ASTERISK_AMI_RECONNECT_MAX_MS: variable(z.coerce.number().int().min(100).max(3_600_000).default(60_000), {
    description: 'Longest delay between AMI reconnection attempts.',
  }),
});

export type TelephonyIngestConfig = z.infer<typeof telephonyIngestConfigSchema>;

export const loadTelephonyIngestConfig = (env: NodeJS.ProcessEnv = process.env): TelephonyIngestConfig =>
  loadConfig(SERVICE_NAME, telephonyIngestConfigSchema, env);
