import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ClickHouse } from './clickhouse-client.js';

/** One migration file: `NNNN_verb_noun.sql`. */
export interface MigrationFile {
  version: number;
  /** File name without `.sql`, e.g. `0001_create_visits`. */
  name: string;
  /** sha256 of the file bytes, hex. */
  checksum: string;
  statements: string[];
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
    files.push({
      version: Number(match[1]),
      name: entry.slice(0, -'.sql'.length),
      checksum: createHash('sha256').update(bytes).digest('hex'),
      statements: splitStatements(bytes.toString('utf8')),
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

/**
 * Applies the pending migrations in `dir`, in order, recording each in `_migrations`
 * (in the client's database). Returns the versions applied by this call (empty when up to date).
 *
 * Applied migrations are immutable: a changed checksum, renamed file or missing file throws
 * before anything runs. A migration's statements are not transactional; if one fails the
 * migration is not recorded and is re-run next time, so write statements with `IF NOT EXISTS`.
 * There is no lock: run it from one process (a deploy job), not from every replica at once.
 */
export async function runMigrations(ch: Pick<ClickHouse, 'command' | 'query'>, dir: string, log: MigrationLog = () => {}): Promise<number[]> {
  const files = await readMigrations(dir);
  await ch.command(CREATE_MIGRATIONS_TABLE);
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
    if (!file) throw new MigrationError(`migration ${record.name} is recorded as applied but its file is missing`);
    if (file.name !== record.name || file.checksum !== record.checksum) {
      throw new MigrationError(
        `applied migration ${record.name} was changed (now ${file.name}, checksum ${file.checksum}, ` +
          `recorded ${record.checksum}); migrations are immutable, add a new one instead`,
      );
    }
  }
  const pending = files.filter((f) => !applied.has(f.version));
  const firstPending = pending[0];
  if (firstPending && [...applied.keys()].some((v) => v > firstPending.version)) {
    throw new MigrationError(`migration ${firstPending.name} is pending but a later version is already applied`);
  }

  const done: number[] = [];
  for (const file of pending) {
    const started = Date.now();
    log('migration.applying', { version: file.version, name: file.name, statements: file.statements.length });
    for (const statement of file.statements) await ch.command(statement);
    await ch.command('INSERT INTO _migrations (version, name, checksum, applied_at) ' + 'SELECT {version:UInt32}, {name:String}, {checksum:String}, now64(3)', {
      version: file.version,
      name: file.name,
      checksum: file.checksum,
    });
    done.push(file.version);
    log('migration.applied', { version: file.version, name: file.name, durationMs: Date.now() - started });
  }
  log('migrations.done', { dir, applied: done, total: files.length });
  return done;
}
