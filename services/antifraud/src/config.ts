import { adminTokenVariable, commonVariables, loadConfig, portVariable } from '@calltrack/config';
import { z } from 'zod';

export const SERVICE_NAME = 'antifraud';

export const antifraudConfigSchema = z.object({
  ...commonVariables,
  PORT: portVariable(8086),
  ADMIN_TOKEN: adminTokenVariable(),
});

export type AntifraudConfig = z.infer<typeof antifraudConfigSchema>;

export const loadAntifraudConfig = (env: NodeJS.ProcessEnv = process.env): AntifraudConfig => loadConfig(SERVICE_NAME, antifraudConfigSchema, env);
