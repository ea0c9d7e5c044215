import { adminTokenVariable, commonVariables, loadConfig, portVariable, variable } from '@calltrack/config';
import { z } from 'zod';

export const SERVICE_NAME = 'telephony-ingest';

export const telephonyIngestConfigSchema = z.object({
  ...commonVariables,
  PORT: portVariable(8083),
  ADMIN_TOKEN: adminTokenVariable(),
  WEBHOOK_TOLERANCE_SECONDS: variable(z.coerce.number().int().min(30).max(3600).default(300), {
    description: 'Replay window: a signed webhook whose X-Calltrack-Timestamp is further than this from the server clock is rejected (401 stale_timestamp).',
  }),
  WEBHOOK_BODY_LIMIT_BYTES: variable(z.coerce.number().int().min(1024).max(10 * 1024 * 1024).default(64 * 1024), {
    description: 'Largest accepted request body in bytes; larger webhooks get 413.',
  }),
});

export type TelephonyIngestConfig = z.infer<typeof telephonyIngestConfigSchema>;

export const loadTelephonyIngestConfig = (env: NodeJS.ProcessEnv = process.env): TelephonyIngestConfig =>
  loadConfig(SERVICE_NAME, telephonyIngestConfigSchema, env);
