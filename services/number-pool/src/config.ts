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
      "Share of a site's pool (percent, at least one number) that one visitor, or one client address, may hold in live leases; further sessions from it are shown a number it already holds (reason holder_share). 0 turns the limit off.",
  }),
  PROMO_REDEMPTION_WINDOW_DAYS: variable(z.coerce.number().int().min(1).max(400).default(30), {
    description: 'How long after a session ended its promo code can still be redeemed (a caller may read it out days later).',
  }),
});

export type NumberPoolConfig = z.infer<typeof numberPoolConfigSchema>;

export const loadNumberPoolConfig = (env: NodeJS.ProcessEnv = process.env): NumberPoolConfig =>
  loadConfig(SERVICE_NAME, numberPoolConfigSchema, env);
