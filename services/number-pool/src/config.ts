import { adminTokenVariable, commonVariables, loadConfig, portVariable, variable } from '@calltrack/config';
import { z } from 'zod';

export const SERVICE_NAME = 'number-pool';

export const numberPoolConfigSchema = z.object({
  ...commonVariables,
  PORT: portVariable(8082),
  ADMIN_TOKEN: adminTokenVariable(),
  EXPIRY_SWEEP_INTERVAL_MS: variable(z.coerce.number().int().min(50).max(60_000).default(1000), {
    description: 'How often expired leases are looked for and released.',
  }),
});

export type NumberPoolConfig = z.infer<typeof numberPoolConfigSchema>;

export const loadNumberPoolConfig = (env: NodeJS.ProcessEnv = process.env): NumberPoolConfig =>
  loadConfig(SERVICE_NAME, numberPoolConfigSchema, env);
