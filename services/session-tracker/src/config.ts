import { commonVariables, loadConfig, portVariable, variable } from '@calltrack/config';
import { z } from 'zod';

export const SERVICE_NAME = 'session-tracker';

export const sessionTrackerConfigSchema = z.object({
  ...commonVariables,
  PORT: portVariable(8081),
  LEASE_REPLY_TIMEOUT_MS: variable(z.coerce.number().int().min(50).max(30_000).default(1500), {
    description: 'How long a session start waits for number-pool to grant a number before answering with the default number.',
  }),
  RATE_LIMIT_PER_ADDRESS_PER_MINUTE: variable(z.coerce.number().int().min(1).default(300), {
    description: 'Public requests (session starts and heartbeats) one client address may make per minute on this instance.',
  }),
  RATE_LIMIT_PER_SITE_PER_SECOND: variable(z.coerce.number().int().min(1).default(5000), {
    description: "Public requests per second for one site on this instance, so one site's surge cannot starve the others.",
  }),
  CLIENT_ADDRESS_HASH_KEY: variable(z.string().min(16, 'must be at least 16 characters').optional(), {
    description:
      "Key of the hash of client addresses sent to number-pool (an address's share of a pool is counted by it; the address itself never goes on " +
      'a topic). The same on every instance; unset: a random key per instance, so an address reaching two instances counts as two.',
    sensitive: true,
  }),
  SESSION_ID_KEY: variable(z.string().min(16, 'must be at least 16 characters').optional(), {
    description:
      'Key of the MAC in every session id, so that a session end naming an id no instance minted is refused with 404 and publishes nothing. The ' +
      'same on every instance; unset: a random key per instance, so an end reaching another instance, or sent after a restart, is refused (the ' +
      'lease then runs out its tail from the last heartbeat).',
    sensitive: true,
  }),
  TRACKER_HEARTBEAT_SECONDS: variable(z.coerce.number().int().min(5).max(600).default(60), {
    description: 'How often the tracker tells the service that the page is still visible (the lease tail restarts from each heartbeat).',
  }),
  TRACKER_CACHE_SECONDS: variable(z.coerce.number().int().min(0).max(86_400).default(300), {
    description: "How long browsers may cache a site's tracker script before revalidating it (a configuration change reaches pages within this time).",
  }),
  FLAGGED_VISITORS_LIMIT: variable(z.coerce.number().int().min(1000).max(10_000_000).default(500_000), {
    description:
      'How many visitors flagged as bots by antifraud each instance remembers (the oldest are forgotten first); their visits get the default number.',
  }),
  SESSION_BODY_LIMIT_BYTES: variable(
    z.coerce
      .number()
      .int()
      .min(1024)
      .max(1_048_576)
      .default(16 * 1024),
    {
      description: 'Largest accepted body of a public session request.',
    },
  ),
});

export type SessionTrackerConfig = z.infer<typeof sessionTrackerConfigSchema>;

export const loadSessionTrackerConfig = (env: NodeJS.ProcessEnv = process.env): SessionTrackerConfig =>
  loadConfig(SERVICE_NAME, sessionTrackerConfigSchema, env);
