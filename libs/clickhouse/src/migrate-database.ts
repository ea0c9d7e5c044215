import { createClickHouse, type ClickHouse, type ClickHouseOptions } from './clickhouse-client.js';
import {
  DEFAULT_MIGRATION_TIMEOUT_SECONDS,
  MigrationError,
  readMigrations,
  runMigrations,
  schemaStatus,
  type MigrationLog,
  type RunMigrationsOptions,
  type SchemaStatus,
} from './migration-runner.js';

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
// Room for the answer of a statement that ran up to its max_execution_time.
const REQUEST_MARGIN_SECONDS = 60;

export interface MigrateDatabaseOptions extends RunMigrationsOptions {
  /** Server (url, credentials) or embedded engine (dataDir); `database` and `requestTimeoutMs` are set here. */
  connection: Omit<ClickHouseOptions, 'database' | 'requestTimeoutMs'>;
  database: string;
  /** Folder of `NNNN_verb_noun.sql` files. */
  dir: string;
  log?: MigrationLog;
}

/**
 * The one way migrations are applied (the `migrate` command, the Helm migrations Job, and an
 * embedded-engine service in auto mode): creates the database when missing, then applies the
 * pending migrations under the database's migration lock, on a client whose request timeout
 * covers the longest statement time limit (not the HTTP client's 30 s default).
 */
export async function migrateDatabase(options: MigrateDatabaseOptions): Promise<number[]> {
  if (!IDENTIFIER.test(options.database)) throw new Error(`invalid ClickHouse database name: ${JSON.stringify(options.database)}`);
  const files = await readMigrations(options.dir);
  const longest = Math.max(options.timeoutSeconds ?? DEFAULT_MIGRATION_TIMEOUT_SECONDS, ...files.map((f) => f.timeoutSeconds ?? 0));
  const requestTimeoutMs = (longest + REQUEST_MARGIN_SECONDS) * 1000;
  // Opened before the admin client: closing the admin must not shut a shared embedded engine down.
  const ch = createClickHouse({ ...options.connection, database: options.database, requestTimeoutMs });
  try {
    const admin = createClickHouse({ ...options.connection, database: 'default' });
    try {
      await admin.command(`CREATE DATABASE IF NOT EXISTS ${options.database}`);
    } finally {
      await admin.close();
    }
    return await runMigrations(ch, options.dir, options.log, options);
  } finally {
    await ch.close();
  }
}

export interface WaitForSchemaOptions {
  /** How often to look again (default 2 s). */
  pollMs?: number;
  /** Keep waiting while this says so (a shutdown stops the wait); default: for ever. */
  isRunning?: () => boolean;
  /** Called on the first look that finds the schema behind, then every `logEveryMs` (default 30 s). */
  onBehind?: (status: SchemaStatus) => void;
  logEveryMs?: number;
  /**
   * Called with a failed look (server unreachable, database not created yet), on the first and then
   * every `logEveryMs`; the wait goes on. Without it such errors are thrown. A {@link MigrationError}
   * (an applied migration changed) is always thrown.
   */
  onError?: (err: unknown) => void;
}

/**
 * Waits until every migration in `dir` is recorded in the client's database (applied by the
 * migrations Job or command), instead of migrating: a service in wait mode stays unready meanwhile.
 * Resolves with the last status (ready, or not when `isRunning` turned false).
 */
export async function waitForSchema(ch: Pick<ClickHouse, 'query'>, dir: string, options: WaitForSchemaOptions = {}): Promise<SchemaStatus> {
  const pollMs = options.pollMs ?? 2000;
  const logEveryMs = options.logEveryMs ?? 30_000;
  const isRunning = options.isRunning ?? (() => true);
  let lastLog = Number.NEGATIVE_INFINITY;
  let lastErrorLog = Number.NEGATIVE_INFINITY;
  for (;;) {
    let status: SchemaStatus | undefined;
    try {
      status = await schemaStatus(ch, dir);
    } catch (err) {
      if (err instanceof MigrationError || !options.onError) throw err;
      if (Date.now() - lastErrorLog >= logEveryMs) {
        lastErrorLog = Date.now();
        options.onError(err);
      }
    }
    if (status === undefined) {
      if (!isRunning()) return { required: 0, applied: 0, missing: [], ready: false };
      await new Promise((r) => setTimeout(r, pollMs));
      continue;
    }
    if (status.ready || !isRunning()) return status;
    if (Date.now() - lastLog >= logEveryMs) {
      lastLog = Date.now();
      options.onBehind?.(status);
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
