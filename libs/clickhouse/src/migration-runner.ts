import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ClickHouse } from './clickhouse-client.js';
import { acquireMigrationLock, type MigrationLockOptions } from './migration-lock.js';

/** One migration file: `NNNN_verb_noun.sql`. */
export interface MigrationFile {
  version: number;
  /** File name without `.sql`, e.g. `0001_create_visits`. */
  name: string;
  /** sha256 of the file bytes, hex. */
  checksum: string;
  statements: string[];
  /** From a `-- timeout_seconds: N` line: the time limit of each of its statements (backfills), instead of the runner's default. */
  timeoutSeconds?: number;
}

/** Structured log callback, e.g. `(event, fields) => logger.info(fields, event)`. */
export type MigrationLog = (event: string, fields: Record<string, unknown>) => void;

/** Thrown for anything that makes the migration set unsafe to apply. */
export class MigrationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MigrationError';
  }
}

const FILE_NAME = /^(\d{4})_([a-z0-9]+(?:_[a-z0-9]+)+)\.sql$/;
const TIMEOUT_DIRECTIVE = /^--\s*timeout_seconds:\s*(\d+)\s*$/m;
/** Time limit of a migration statement without a directive (server mode): far above the HTTP client's 30 s default. */
export const DEFAULT_MIGRATION_TIMEOUT_SECONDS = 3600;

const CREATE_MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS _migrations (
  version UInt32,
  name String,
  checksum String,
  applied_at DateTime64(3)
) ENGINE = MergeTree ORDER BY version`;

/**
 * Splits a migration into statements. A statement ends at a line whose last
 * non-blank character is `;` (a line holding only `;` included), unless the line is a
 * `--` comment. A `;` inside a line (e.g. in a string literal) does not split. Chunks
 * holding only blanks and `--` comments are dropped. Limitation: a multi-line string
 * literal with a line ending in `;` would be split, so avoid that in migrations.
 */
export function splitStatements(sql: string): string[] {
  const statements: string[] = [];
  let current: string[] = [];
  const flush = (): void => {
    const text = current.join('\n').trim().replace(/;$/, '').trim();
    const meaningful = text.split('\n').some((l) => l.trim() !== '' && !l.trim().startsWith('--'));
    if (meaningful) statements.push(text);
    current = [];
  };
  for (const line of sql.replace(/\r\n/g, '\n').split('\n')) {
    current.push(line);
    const trimmed = line.trimEnd();
    if (trimmed.endsWith(';') && !trimmed.trimStart().startsWith('--')) flush();
  }
  flush();
  return statements;
}

/**
 * Reads `NNNN_verb_noun.sql` files from `dir`, ordered by version. Throws on a misnamed
 * `.sql` file, a duplicate number, or a gap (versions must run 1, 2, 3, …). Other files are ignored.
 */
export async function readMigrations(dir: string): Promise<MigrationFile[]> {
  const files: MigrationFile[] = [];
  for (const entry of (await readdir(dir)).sort()) {
    if (!entry.endsWith('.sql')) continue;
    const match = FILE_NAME.exec(entry);
    if (!match) throw new MigrationError(`migration file ${entry} is not named NNNN_verb_noun.sql`);
    const bytes = await readFile(join(dir, entry));
    const text = bytes.toString('utf8');
    const timeout = TIMEOUT_DIRECTIVE.exec(text);
    files.push({
      version: Number(match[1]),
      name: entry.slice(0, -'.sql'.length),
      checksum: createHash('sha256').update(bytes).digest('hex'),
      statements: splitStatements(text),
      ...(timeout ? { timeoutSeconds: Number(timeout[1]) } : {}),
    });
  }
  files.sort((a, b) => a.version - b.version);
  files.forEach((file, i) => {
    const previous = files[i - 1];
    if (previous?.version === file.version) {
      throw new MigrationError(`duplicate migration number ${file.version}: ${previous.name} and ${file.name}`);
    }
    if (file.version !== i + 1) {
      throw new MigrationError(`migration numbers have a gap: expected ${i + 1}, found ${file.name}`);
    }
    if (file.statements.length === 0) throw new MigrationError(`migration ${file.name} has no statements`);
  });
  return files;
}

interface AppliedRow {
  version: number;
  name: string;
  checksum: string;
}

export interface RunMigrationsOptions {
  /** The lock between runners (ttl, wait, holder name); `false` only for a caller that holds it already. */
  lock?: MigrationLockOptions | false;
  /** Time limit of each statement of a migration without a `-- timeout_seconds:` line (default 3600 s). */
  timeoutSeconds?: number;
}

/** The client a runner needs: statements, reads, and the database it works in (the lock's scope). */
export type MigrationClient = Pick<ClickHouse, 'command' | 'query' | 'database'>;

// Runners of one process queue here before they race for the lock in the database: the embedded
// engine runs one statement at a time, so a holder's heartbeat could wait behind its own long
// statement and look stale to a second runner of the same process.
const inProcess = new Map<string, Promise<unknown>>();

async function serialised<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const previous = inProcess.get(key) ?? Promise.resolve();
  const run = previous.catch(() => undefined).then(fn);
  const tail = run.catch(() => undefined);
  inProcess.set(key, tail);
  try {
    return await run;
  } finally {
    if (inProcess.get(key) === tail) inProcess.delete(key);
  }
}

/** Reads `_migrations` (empty when the table does not exist yet) and checks it against the files. */
async function appliedMigrations(ch: Pick<ClickHouse, 'query'>, files: MigrationFile[]): Promise<Map<number, AppliedRow>> {
  const [table] = await ch.query<{ n: string }>("SELECT count() AS n FROM system.tables WHERE database = currentDatabase() AND name = '_migrations'");
  if (!table || Number(table.n) === 0) return new Map();
  const rows = await ch.query<AppliedRow>('SELECT version, name, checksum FROM _migrations ORDER BY version');
  const applied = new Map<number, AppliedRow>();
  for (const row of rows) {
    const version = Number(row.version);
    const seen = applied.get(version);
    // A re-recorded row (retry after a lost ack) is harmless only if it is identical.
    if (seen && (seen.checksum !== row.checksum || seen.name !== row.name)) {
      throw new MigrationError(`_migrations has conflicting records for version ${version}`);
    }
    applied.set(version, { ...row, version });
  }
  const byVersion = new Map(files.map((f) => [f.version, f]));
  for (const record of applied.values()) {
    const file = byVersion.get(record.version);
    if (!file) continue; // a newer schema than these files know: the caller decides
    if (file.name !== record.name || file.checksum !== record.checksum) {
      throw new MigrationError(
        `applied migration ${record.name} was changed (now ${file.name}, checksum ${file.checksum}, ` +
          `recorded ${record.checksum}); migrations are immutable, add a new one instead`,
      );
    }
  }
  return applied;
}

/**
 * Applies the pending migrations in `dir`, in order, recording each in `_migrations`
 * (in the client's database). Returns the versions applied by this call (empty when up to date).
 *
 * Runners are serialised by the database's migration lock (migration-lock.ts), so several at
 * once (deploy jobs, replicas in auto mode) apply each migration exactly once: the others wait,
 * then find nothing pending. The applied set is read under the lock, and the lock is checked
 * before each migration and before it is recorded.
 *
 * Applied migrations are immutable: a changed checksum, renamed file or missing file throws
 * before anything runs. A migration's statements are not transactional; if one fails (or the
 * runner dies) the migration is not recorded and is re-run next time, so write statements
 * with `IF NOT EXISTS` and backfills that can run twice. Server mode: each statement runs under
 * `max_execution_time` (the file's `-- timeout_seconds: N`, else `timeoutSeconds`); the client
 * must allow requests that long (see migrateDatabase, which opens one that does).
 */
export async function runMigrations(ch: MigrationClient, dir: string, log: MigrationLog = () => {}, options: RunMigrationsOptions = {}): Promise<number[]> {
  const files = await readMigrations(dir);
  return serialised(ch.database, async () => {
    await ch.command(CREATE_MIGRATIONS_TABLE);
    const lock = options.lock === false ? undefined : await acquireMigrationLock(ch, { log, ...options.lock });
    try {
      const applied = await appliedMigrations(ch, files);
      const pending = files.filter((f) => !applied.has(f.version));
      const firstPending = pending[0];
      if (firstPending && [...applied.keys()].some((v) => v > firstPending.version)) {
        throw new MigrationError(`migration ${firstPending.name} is pending but a later version is already applied`);
      }
      // Files run 1..N without gaps (readMigrations), so a record these files do not know is a later release's.
      const ahead = [...applied.values()].filter((r) => r.version > (files.at(-1)?.version ?? 0));
      if (ahead.length > 0) {
        // An older build (a rollback) runs on the newer schema it left: nothing to apply, nothing to undo.
        log('migrations.ahead', { dir, known: files.length, applied: ahead.map((r) => r.name) });
        return [];
      }

      const done: number[] = [];
      for (const file of pending) {
        await lock?.assertHeld();
        const started = Date.now();
        const timeoutSeconds = file.timeoutSeconds ?? options.timeoutSeconds ?? DEFAULT_MIGRATION_TIMEOUT_SECONDS;
        log('migration.applying', { version: file.version, name: file.name, statements: file.statements.length, timeoutSeconds });
        for (const statement of file.statements) {
          await ch.command(statement, undefined, { serverSettings: { max_execution_time: timeoutSeconds } });
        }
        // Not recorded by a runner that lost the lock meanwhile: the new holder re-runs it (statements are re-runnable).
        await lock?.assertHeld();
        await ch.command('INSERT INTO _migrations (version, name, checksum, applied_at) SELECT {version:UInt32}, {name:String}, {checksum:String}, now64(3)', {
          version: file.version,
          name: file.name,
          checksum: file.checksum,
        });
        done.push(file.version);
        log('migration.applied', { version: file.version, name: file.name, durationMs: Date.now() - started });
      }
      log('migrations.done', { dir, applied: done, total: files.length });
      return done;
    } finally {
      await lock?.release();
    }
  });
}

/** What a service needs of the schema, against what the database has. */
export interface SchemaStatus {
  /** Highest version of the service's migration files. */
  required: number;
  /** Highest version recorded in `_migrations` (0 when none). */
  applied: number;
  /** Names of the service's migrations not applied yet. */
  missing: string[];
  ready: boolean;
}

/**
 * Compares the database's `_migrations` with the migration files a service was built with.
 * Ready when every file is applied (a newer schema, from a later release, is accepted). Throws
 * {@link MigrationError} when an applied migration differs from its file.
 */
export async function schemaStatus(ch: Pick<ClickHouse, 'query'>, dir: string): Promise<SchemaStatus> {
  const files = await readMigrations(dir);
  const applied = await appliedMigrations(ch, files);
  const missing = files.filter((f) => !applied.has(f.version)).map((f) => f.name);
  return { required: files.at(-1)?.version ?? 0, applied: Math.max(0, ...applied.keys()), missing, ready: missing.length === 0 };
}
