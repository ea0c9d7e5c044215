import { adminTokenVariable, commonVariables, loadConfig, portVariable, variable } from '@calltrack/config';
import { z } from 'zod';

export const SERVICE_NAME = 'number-pool';

export const numberPoolConfigSchema = z.object({
  ...commonVariables,
  PORT: portVariable(8082),
  ADMIN_TOKEN: adminTokenVariable(),
  EXPIRY_SWEEP_INTERVAL_MS: variable(z.coerce.number().int().min(50).max(60_000).default(1000), {
    description: 'How often expired leases are looked for and released, and quarantines that are over are ended.',
  }),
  POOL_HOLDER_SHARE_PERCENT: variable(z.coerce.number().min(0).max(100).default(5), {
    description:
      "Share of a site's pool (percent, at least one number) that one visitor, or one client address, may hold in live leases; further sessions " +
      'from it are shown a number it already holds (reason holder_share). 0 turns the limit off.',
  }),
  POOL_SNAPSHOT_EVERY_RECORDS: variable(z.coerce.number().int().min(0).max(100_000_000).default(100_000), {
    description:
      'A partition owner snapshots its pool state (topic pool-snapshots) once its part of pool-events grew by this many records since the last ' +
      'snapshot; a restart then replays at most about this many. 0: not by count.',
  }),
  POOL_SNAPSHOT_INTERVAL_MS: variable(
    z.coerce
      .number()
      .int()
      .min(0)
      .max(7 * 24 * 3600_000)
      .default(15 * 60_000),
    {
      description: 'A partition whose pool events changed is snapshotted at least this often (also on graceful shutdown). 0: not by time.',
    },
  ),
  PROMO_REDEMPTION_WINDOW_DAYS: variable(z.coerce.number().int().min(1).max(400).default(30), {
    description: 'How long after a session ended its promo code can still be redeemed (a caller may read it out days later).',
  }),
});

export type NumberPoolConfig = z.infer<typeof numberPoolConfigSchema>;

export const loadNumberPoolConfig = (env: NodeJS.ProcessEnv = process.env): NumberPoolConfig => loadConfig(SERVICE_NAME, numberPoolConfigSchema, env);
