import { adminTokenVariable, commonVariables, loadConfig, portVariable, variable } from '@calltrack/config';
import { z } from 'zod';

export const SERVICE_NAME = 'attribution';

export const attributionConfigSchema = z.object({
  ...commonVariables,
  PORT: portVariable(8084),
  ADMIN_TOKEN: adminTokenVariable(),
  CLICKHOUSE_URL: variable(z.url({ protocol: /^https?$/ }).optional(), {
    description:
      'ClickHouse server (HTTP interface, e.g. http://clickhouse:8123). Unset: the embedded engine (chDB) in CLICKHOUSE_DATA_DIR, which only the ' +
      'embedded image target and a development install contain (the production image requires this variable).',
  }),
  CLICKHOUSE_USER: variable(z.string().default('default'), { description: 'ClickHouse user (server mode).' }),
  CLICKHOUSE_PASSWORD: variable(z.string().default(''), { description: 'ClickHouse password (server mode).', sensitive: true }),
  CLICKHOUSE_DATABASE: variable(
    z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/)
      .default('calltrack'),
    { description: 'Database holding the platform tables; created if missing.' },
  ),
  CLICKHOUSE_HEALTH_INTERVAL_MS: variable(z.coerce.number().int().min(100).max(60_000).default(5000), {
    description:
      'How often attribution pings ClickHouse (each ping may take as long): while it does not answer, /readyz fails and calltrack_clickhouse_up is 0.',
  }),
  CLICKHOUSE_DATA_DIR: variable(z.string().default('.data/clickhouse'), {
    description: 'Data directory of the embedded engine (one process may own it). Ignored with CLICKHOUSE_URL.',
  }),
  CLICKHOUSE_MIGRATE: variable(z.enum(['auto', 'wait']).optional(), {
    description:
      'Who applies the ClickHouse migrations. auto: this process at start, under the migration lock (default of the embedded engine, which one process ' +
      'owns). wait: the migrations Job or `npm run migrate` does; the service stays unready until the schema version it needs is recorded (default ' +
      'with CLICKHOUSE_URL).',
  }),
  CLICKHOUSE_MIGRATION_TIMEOUT_SECONDS: variable(z.coerce.number().int().min(30).max(86_400).default(3600), {
    description:
      'Server mode: time limit of each migration statement (max_execution_time, and the HTTP request timeout above it) unless the migration file sets ' +
      'its own with a `-- timeout_seconds: N` line.',
  }),
  GRPC_PORT: variable(z.coerce.number().int().min(1).max(65535).default(9084), {
    description: 'Port of the gRPC API for bid managers (ConversionsService); served only when GRPC_API_TOKEN is set.',
  }),
  GRPC_API_TOKEN: variable(z.string().min(16, 'must be at least 16 characters').optional(), {
    description: 'Bearer token gRPC clients send as "authorization" metadata. Unset: the gRPC API is not served.',
    sensitive: true,
  }),
  ATTRIBUTION_GRACE_SECONDS: variable(
    z.coerce
      .number()
      .int()
      .min(0)
      .max(30 * 86_400)
      .default(600),
    {
      description: 'A call still matches a lease released up to this long before the call started (the visitor noted the number).',
    },
  ),
  ATTRIBUTION_STATE_WAIT_MS: variable(z.coerce.number().int().min(0).max(60_000).default(5000), {
    description: 'How long a fresh call without a matching lease waits for lease and visit events still in flight before it is stored as unmatched.',
  }),
  ATTRIBUTION_SWEEP_INTERVAL_MS: variable(z.coerce.number().int().min(100).max(3_600_000).default(60_000), {
    description:
      'How often missed calls whose call-back window has passed are marked not called back, and recent promo-code redemptions are checked to have ' +
      'reached their calls.',
  }),
  ATTRIBUTION_MARKOV_REFRESH_MINUTES: variable(
    z.coerce
      .number()
      .int()
      .min(0)
      .max(7 * 24 * 60)
      .default(360),
    {
      description:
        "Age after which a site's data-driven (Markov) model is learnt again from its paths; 0 turns the periodic refresh off (the admin API and " +
        'recomputes still compute it).',
    },
  ),
  ATTRIBUTION_CALL_CHUNK: variable(z.coerce.number().int().min(10).max(10_000).default(500), {
    description:
      'Calls (and enquiries) of a consumed batch evaluated and written per step; the consumer heartbeats between steps, so a backlog (large batches) ' +
      'never makes one step outlast the Kafka session timeout.',
  }),
  ATTRIBUTION_RECOMPUTE_BATCH: variable(z.coerce.number().int().min(100).max(100_000).default(5000), {
    description: 'Calls evaluated per step of a recompute (one set of ClickHouse reads and one insert per step; live calls are evaluated between steps).',
  }),
});

export type AttributionConfig = z.infer<typeof attributionConfigSchema>;

export const loadAttributionConfig = (env: NodeJS.ProcessEnv = process.env): AttributionConfig => loadConfig(SERVICE_NAME, attributionConfigSchema, env);
