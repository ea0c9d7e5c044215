import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClickHouse, type ClickHouse } from './clickhouse-client.js';

// Integration tests of all libs share one process and therefore one embedded engine:
// scripts/test.sh sets CLICKHOUSE_DATA_DIR; otherwise the first caller picks a temp dir.
let fallbackDir: string | undefined;

export function testDataDir(): string {
  const fromEnv = process.env['CLICKHOUSE_DATA_DIR'];
  if (fromEnv) return fromEnv;
  fallbackDir ??= mkdtempSync(join(tmpdir(), 'calltrack-chdb-'));
  return fallbackDir;
}

/** Recreates `database` on the shared engine and returns a client bound to it. */
export async function openTestDatabase(database: string): Promise<ClickHouse> {
  // Opened first so the admin's close does not shut the engine down in between.
  const ch = createClickHouse({ dataDir: testDataDir(), database });
  const admin = createClickHouse({ dataDir: testDataDir() });
  try {
    await admin.command(`DROP DATABASE IF EXISTS ${database}`);
    await admin.command(`CREATE DATABASE ${database}`);
  } catch (err) {
    await ch.close();
    throw err;
  } finally {
    await admin.close();
  }
  return ch;
}
