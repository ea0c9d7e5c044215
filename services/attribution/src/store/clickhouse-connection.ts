// What the service and the migrate command share about ClickHouse (no Nest here: the command stays small).
import { fileURLToPath } from 'node:url';
import type { ClickHouseOptions } from '@calltrack/clickhouse';
import type { AttributionConfig } from '../config.js';

// Resolved next to the compiled file, so it works from dist/ wherever the service runs.
export const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations/', import.meta.url));

/** Who applies the migrations: this process (auto), or the migrations Job / `npm run migrate` while this one waits. */
export function migrateMode(c: Pick<AttributionConfig, 'CLICKHOUSE_MIGRATE' | 'CLICKHOUSE_URL'>): 'auto' | 'wait' {
  return c.CLICKHOUSE_MIGRATE ?? (c.CLICKHOUSE_URL ? 'wait' : 'auto');
}

/** The connection of CLICKHOUSE_URL/USER/PASSWORD, or the embedded engine in CLICKHOUSE_DATA_DIR. */
export function clickHouseConnection(
  c: Pick<AttributionConfig, 'CLICKHOUSE_URL' | 'CLICKHOUSE_USER' | 'CLICKHOUSE_PASSWORD' | 'CLICKHOUSE_DATA_DIR'>,
): ClickHouseOptions {
  return c.CLICKHOUSE_URL ? { url: c.CLICKHOUSE_URL, username: c.CLICKHOUSE_USER, password: c.CLICKHOUSE_PASSWORD } : { dataDir: c.CLICKHOUSE_DATA_DIR };
}
