import { z } from 'zod';
import { variable } from './load-config.js';

// 0 asks the OS for a free port (tests, one-process mode).
const port = z.coerce.number().int().min(0).max(65535);
const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

/** Variables every service reads; each service's schema extends this. */
export const commonVariables = {
  HTTP_HOST: variable(z.string().default('0.0.0.0'), { description: 'Address the HTTP server binds to.' }),
  HTTP_TRUST_PROXY: variable(
    z
      .string()
      .default('')
      .refine(
        (v) => !v.split(',').some((p) => p.trim() === 'true'),
        'trusting every peer lets any client choose its address: list the proxies (addresses, CIDRs, "loopback")',
      ),
    {
      description:
        'Proxies whose X-Forwarded-For/-Proto/-Host are believed (the client address of visits, rate limits and pool shares): comma-separated ' +
        'addresses, CIDRs or "loopback", "linklocal", "uniquelocal" (Fastify trustProxy). Default: none, the peer address is the client. ' +
        'Set it to your ingress or load balancer addresses only.',
    },
  ),
  ADMIN_RATE_LIMIT_PER_ADDRESS_PER_MINUTE: variable(z.coerce.number().int().min(1).default(1200), {
    description: 'Admin API requests (reads included) one client address may make per minute on this instance; more get 429 with Retry-After.',
  }),
  ADMIN_RATE_LIMIT_PER_SITE_PER_MINUTE: variable(z.coerce.number().int().min(1).default(3000), {
    description: 'Admin API requests about one site per minute on this instance; more get 429 with Retry-After.',
  }),
  LOG_LEVEL: variable(z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'), {
    description: 'Minimum level of the structured (JSON) logs.',
  }),
  KAFKA_BROKERS: variable(z.string().min(1).default('127.0.0.1:9092'), { description: 'Comma-separated Kafka bootstrap servers.' }),
  KAFKA_TOPIC_PREFIX: variable(
    z
      .string()
      .regex(/^[a-zA-Z0-9._-]*$/)
      .default(''),
    {
      description: 'Prefix for every topic and consumer group of this environment (isolates tests and tenants of a shared cluster).',
    },
  ),
  KAFKA_CLIENT_ID: variable(z.string().optional(), { description: 'Kafka client id; defaults to the service name.' }),
  KAFKA_SSL: variable(bool.default(false), {
    description: "Connect to Kafka over TLS (the brokers' certificates checked against Node's CA bundle, or KAFKA_SSL_CA_FILE).",
  }),
  KAFKA_SSL_CA_FILE: variable(z.string().optional(), {
    description: "PEM file of the CA that signed the brokers' certificates (a private CA, e.g. Strimzi's cluster CA); needs KAFKA_SSL=true.",
  }),
  KAFKA_SSL_CERT_FILE: variable(z.string().optional(), {
    description: 'PEM file of the client certificate for mutual TLS (mTLS) authentication; needs KAFKA_SSL=true and KAFKA_SSL_KEY_FILE.',
  }),
  KAFKA_SSL_KEY_FILE: variable(z.string().optional(), {
    description: 'PEM file of the (unencrypted) private key of KAFKA_SSL_CERT_FILE. A secret: mount it from a Secret, readable by the service only.',
  }),
  KAFKA_SASL_MECHANISM: variable(z.enum(['plain', 'scram-sha-256', 'scram-sha-512']).optional(), {
    description:
      'SASL mechanism for Kafka, when the cluster requires authentication: ' +
      'scram-sha-256 or scram-sha-512 (the password never crosses the wire), or plain (only with KAFKA_SSL=true).',
  }),
  KAFKA_SASL_USERNAME: variable(z.string().optional(), { description: 'SASL user name for Kafka; required with KAFKA_SASL_MECHANISM.' }),
  KAFKA_SASL_PASSWORD: variable(z.string().optional(), {
    description: 'SASL password for Kafka; with KAFKA_SASL_MECHANISM, this or KAFKA_SASL_PASSWORD_FILE (not both).',
    sensitive: true,
  }),
  KAFKA_SASL_PASSWORD_FILE: variable(z.string().optional(), {
    description: 'File holding the SASL password (a mounted Secret; one trailing newline is ignored), instead of KAFKA_SASL_PASSWORD.',
  }),
  KAFKA_MAX_RETRIES: variable(z.coerce.number().int().min(0).max(20).default(5), {
    description: 'In-process attempts for a record that failed with a transient error, before it goes to the dead-letter topic.',
  }),
  KAFKA_SESSION_TIMEOUT_MS: variable(z.coerce.number().int().min(6000).max(300_000).default(15_000), {
    description: 'Consumer group session timeout: how long partitions of a crashed instance wait before another instance takes them.',
  }),
  KAFKA_PUBLISH_TIMEOUT_MS: variable(z.coerce.number().int().min(100).max(120_000).default(5000), {
    description:
      'How long publishing an event may wait for the broker to make it durable; ' +
      'past it an HTTP request answers 503 with Retry-After (never a hang) and a consumer retries its batch.',
  }),
  KAFKA_CONSUMER_STALL_SECONDS: variable(z.coerce.number().int().min(0).max(86_400).default(300), {
    description:
      'Liveness: a consumer joined to its group, with records waiting on one of its partitions, that neither made progress (a record handled, ' +
      'parked or dead-lettered, a batch committed) nor was in a deliberate wait (a retry backoff, a failing flush retried, ' +
      'a parked record not yet due, a handler heartbeating) for this long makes /healthz fail, so the orchestrator restarts the process. ' +
      "0 turns the check off. Keep it well above the handlers' longest legitimate run (60 s by default).",
  }),
  SHUTDOWN_TIMEOUT_MS: variable(z.coerce.number().int().min(1000).default(25_000), {
    description: 'How long a graceful shutdown may take to drain consumers and flush producers before the process exits.',
  }),
} as const;

export const portVariable = (defaultPort: number) =>
  variable(port.default(defaultPort), { description: 'Port of the HTTP API (health, readiness and the service endpoints).' });

/** Shortest admin token accepted: 24 characters (e.g. `openssl rand -hex 16` gives 32). */
export const ADMIN_TOKEN_MIN_LENGTH = 24;
/** Placeholders of the shipped examples (.env.example, docs): a token that still says so was never set. */
const PLACEHOLDER_TOKEN = /replace[-_ ]?(with|me)|change[-_ ]?me|placeholder|your[-_ ]?token|<[^>]*>/i;

/** Why a token is refused as an admin token, or undefined when it is acceptable. */
export function weakAdminTokenReason(token: string): string | undefined {
  if (PLACEHOLDER_TOKEN.test(token)) return 'is still a placeholder (e.g. the value of .env.example): set a random token, e.g. `openssl rand -hex 24`';
  if (token.length < ADMIN_TOKEN_MIN_LENGTH) return `must be at least ${ADMIN_TOKEN_MIN_LENGTH} characters (e.g. \`openssl rand -hex 24\`)`;
  // "aaaa…", "0000…", "abababab…": long but guessable.
  if (new Set(token).size < 8) return 'is too repetitive (fewer than 8 different characters): set a random token, e.g. `openssl rand -hex 24`';
  return undefined;
}

export const adminTokenVariable = () =>
  variable(
    z.string().superRefine((token, ctx) => {
      const reason = weakAdminTokenReason(token);
      if (reason) ctx.addIssue({ code: 'custom', message: reason });
    }),
    {
      description: `Bearer token required by the admin endpoints: at least ${ADMIN_TOKEN_MIN_LENGTH} characters, not a placeholder.`,
      sensitive: true,
    },
  );

export { bool as booleanVariable };
