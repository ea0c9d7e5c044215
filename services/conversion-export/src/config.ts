import { adminTokenVariable, commonVariables, ConfigError, loadConfig, portVariable, variable } from '@calltrack/config';
import { z } from 'zod';

export const SERVICE_NAME = 'conversion-export';

export const conversionExportConfigSchema = z.object({
  ...commonVariables,
  PORT: portVariable(8085),
  ADMIN_TOKEN: adminTokenVariable(),
  EXPORT_WEBHOOK_URL: variable(z.url({ protocol: /^https?$/ }).optional(), {
    description: 'Endpoint every conversion is POSTed to (docs/webhooks-conversions.md). Unset: conversions are recorded as skipped (no_destination).',
  }),
  EXPORT_WEBHOOK_SECRET: variable(z.string().min(16).optional(), {
    description: 'When set, each delivery is signed: X-Calltrack-Timestamp and X-Calltrack-Signature (HMAC-SHA256 of "<timestamp>.<body>").',
    sensitive: true,
  }),
  EXPORT_MAX_ATTEMPTS: variable(z.coerce.number().int().min(1).max(20).default(6), {
    description:
      'Delivery attempts per conversion in one round (network errors, timeouts, 408, 429 and 5xx are retried; the round also ends at ' +
      'EXPORT_ROUND_TIMEOUT_MS) before it is parked on the retry tier. One attempt while the endpoint is failing.',
  }),
  EXPORT_INITIAL_BACKOFF_MS: variable(z.coerce.number().int().min(1).max(60_000).default(500), {
    description: 'Wait before the second attempt; doubles for each further attempt (capped at 30 s).',
  }),
  EXPORT_RETRY_DELAYS_MS: variable(
    z
      .string()
      .regex(/^\d+(,\d+)*$/, 'comma-separated milliseconds')
      .transform((v) => v.split(',').map(Number))
      .optional(),
    {
      description:
        "Delays of the retry tier after a delivery ran out of attempts (default: the topic registry's 30 s, 5 min, 30 min); then the dead-letter topic.",
    },
  ),
  EXPORT_TIMEOUT_MS: variable(z.coerce.number().int().min(100).max(120_000).default(10_000), {
    description: 'Time limit of one delivery request (it also ends with its round, EXPORT_ROUND_TIMEOUT_MS).',
  }),
  EXPORT_ROUND_TIMEOUT_MS: variable(z.coerce.number().int().min(500).optional(), {
    description:
      'Time limit of one round of attempts for one conversion (requests and waits); then it is parked on the retry tier. At most half of ' +
      'KAFKA_SESSION_TIMEOUT_MS, so a failing endpoint never gets the consumer evicted. Default: a third of KAFKA_SESSION_TIMEOUT_MS.',
  }),
});

export type ConversionExportConfig = z.infer<typeof conversionExportConfigSchema>;

export function loadConversionExportConfig(env: NodeJS.ProcessEnv = process.env): ConversionExportConfig {
  const config = loadConfig(SERVICE_NAME, conversionExportConfigSchema, env);
  if (config.EXPORT_ROUND_TIMEOUT_MS !== undefined && config.EXPORT_ROUND_TIMEOUT_MS > config.KAFKA_SESSION_TIMEOUT_MS / 2) {
    throw new ConfigError(SERVICE_NAME, [
      `EXPORT_ROUND_TIMEOUT_MS: ${config.EXPORT_ROUND_TIMEOUT_MS} is more than half of KAFKA_SESSION_TIMEOUT_MS ` +
        `(${config.KAFKA_SESSION_TIMEOUT_MS}): a failing endpoint would get the consumer evicted`,
    ]);
  }
  return config;
}

/** The effective round time limit (EXPORT_ROUND_TIMEOUT_MS, or a third of the session timeout). */
export const roundTimeoutMs = (config: ConversionExportConfig): number => config.EXPORT_ROUND_TIMEOUT_MS ?? Math.floor(config.KAFKA_SESSION_TIMEOUT_MS / 3);
