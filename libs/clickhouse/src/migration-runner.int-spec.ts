import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { BatchWriter } from './batch-writer.js';
import type { ClickHouse } from './clickhouse-client.js';
import { MigrationError, runMigrations } from './migration-runner.js';
import { openTestDatabase } from './test-database.fixture.js';

const DB = 'test_migration_runner';
const ATTRIBUTION_DB = 'test_migration_runner_attribution';
const ATTRIBUTION_MIGRATIONS = join(dirname(fileURLToPath(import.meta.url)), '../../../services/attribution/migrations');

const sha256 = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

describe('runMigrations on the embedded engine', () => {
  let ch: ClickHouse;
  let dir: string;

  before(async () => {
    ch = await openTestDatabase(DB);
    dir = mkdtempSync(join(tmpdir(), 'calltrack-migrations-'));
    writeFileSync(
      join(dir, '0001_create_alpha.sql'),
      "-- two statements; the first ends on its own line\nCREATE TABLE alpha (id String, note String DEFAULT 'a;b') ENGINE = MergeTree ORDER BY id\n;\n" +
        "INSERT INTO alpha (id) VALUES ('seed');\n",
    );
    writeFileSync(join(dir, '0002_create_beta.sql'), 'CREATE TABLE beta (id UInt32) ENGINE = MergeTree ORDER BY id;\n');
    writeFileSync(join(dir, 'README.md'), 'not a migration');
  });

  after(async () => {
    rmSync(dir, { recursive: true, force: true });
    await ch.close();
  });

  const recorded = (): Promise<Array<{ version: number; name: string; checksum: string }>> =>
    ch.query('SELECT version, name, checksum FROM _migrations ORDER BY version');

  it('applies pending migrations in order and records them with checksums', async () => {
    const events: string[] = [];
    assert.deepEqual(await runMigrations(ch, dir, (event) => events.push(event)), [1, 2]);
    assert.deepEqual(await recorded(), [
      { version: 1, name: '0001_create_alpha', checksum: sha256(join(dir, '0001_create_alpha.sql')) },
      { version: 2, name: '0002_create_beta', checksum: sha256(join(dir, '0002_create_beta.sql')) },
    ]);
    assert.deepEqual(await ch.query('SELECT id, note FROM alpha'), [{ id: 'seed', note: 'a;b' }]);
    assert.ok(events.includes('migration.applied'));
  });

  it('does nothing when run again', async () => {
    assert.deepEqual(await runMigrations(ch, dir), []);
    assert.equal((await recorded()).length, 2);
    assert.deepEqual(await ch.query('SELECT id FROM alpha'), [{ id: 'seed' }], 'the seed insert ran once');
  });

  it('applies only a newly added migration', async () => {
    writeFileSync(join(dir, '0003_create_gamma.sql'), 'CREATE TABLE gamma (id UInt32) ENGINE = MergeTree ORDER BY id;\n');
    assert.deepEqual(await runMigrations(ch, dir), [3]);
    assert.equal((await recorded()).length, 3);
  });

  it('refuses an applied migration whose file changed', async () => {
    const file = join(dir, '0002_create_beta.sql');
    const original = readFileSync(file, 'utf8');
    writeFileSync(file, original.replace('UInt32', 'UInt64'));
    writeFileSync(join(dir, '0004_create_delta.sql'), 'CREATE TABLE delta (id UInt32) ENGINE = MergeTree ORDER BY id;\n');
    try {
      await assert.rejects(runMigrations(ch, dir), (err: unknown) => err instanceof MigrationError && /0002_create_beta was changed/.test(err.message));
      const tables = await ch.query<{ name: string }>("SELECT name FROM system.tables WHERE database = currentDatabase() AND name = 'delta'");
      assert.deepEqual(tables, [], 'nothing ran after the check failed');
    } finally {
      writeFileSync(file, original);
      rmSync(join(dir, '0004_create_delta.sql'));
    }
  });

  it('refuses a gap in the numbering before touching the database', async () => {
    const gapDir = mkdtempSync(join(tmpdir(), 'calltrack-migrations-gap-'));
    try {
      writeFileSync(join(gapDir, '0001_create_one.sql'), 'CREATE TABLE one (id UInt32) ENGINE = MergeTree ORDER BY id;\n');
      writeFileSync(join(gapDir, '0003_create_three.sql'), 'CREATE TABLE three (id UInt32) ENGINE = MergeTree ORDER BY id;\n');
      await assert.rejects(runMigrations(ch, gapDir), /gap: expected 2, found 0003_create_three/);
      const tables = await ch.query<{ name: string }>("SELECT name FROM system.tables WHERE database = currentDatabase() AND name = 'one'");
      assert.deepEqual(tables, []);
    } finally {
      rmSync(gapDir, { recursive: true, force: true });
    }
  });

  it('applies the attribution schema, which takes idempotent batches', async () => {
    const attribution = await openTestDatabase(ATTRIBUTION_DB);
    try {
      const files = readdirSync(ATTRIBUTION_MIGRATIONS).filter((f) => /^\d{4}_.*\.sql$/.test(f));
      assert.ok(files.length >= 3);
      assert.deepEqual(
        await runMigrations(attribution, ATTRIBUTION_MIGRATIONS),
        files.map((_, i) => i + 1),
      );
      const writer = new BatchWriter(attribution, { table: 'calls' });
      const base = {
        event_id: 'e1',
        site_id: 'site-a',
        call_id: 'mango:1',
        provider: 'mango',
        provider_call_id: '1',
        tracking_number: '+74951000001',
        status: 'ringing',
        started_at: '2024-05-01T10:00:00.000Z',
        version: 1_000,
      };
      await writer.write([base], 'calls:0:1');
      await writer.write([base], 'calls:0:1');
      await writer.write([{ ...base, event_id: 'e2', status: 'completed', ended_at: '2024-05-01T10:03:00Z', is_final: 1, version: 2_000 }], 'calls:0:2');
      const rows = await attribution.query<Record<string, unknown>>(
        'SELECT call_id, status, ended_at, answered_at, is_final, version, click_ids FROM calls FINAL',
      );
      assert.deepEqual(rows, [
        { call_id: 'mango:1', status: 'completed', ended_at: '2024-05-01 10:03:00.000', answered_at: null, is_final: 1, version: '2000', click_ids: {} },
      ]);
      await attribution.insertJsonEachRow('visits', [{ event_id: 'v1', site_id: 'site-a', session_id: 's1', started_at: Date.UTC(2024, 4, 1) }]);
      await attribution.insertJsonEachRow('leases', [
        { event_id: 'l1', site_id: 'site-a', lease_id: 'l1', granted_at: '2024-05-01 10:00:00', expires_at: '2024-05-01 10:30:00' },
      ]);
      assert.deepEqual(await attribution.query('SELECT session_id, started_at FROM visits FINAL'), [
        { session_id: 's1', started_at: '2024-05-01 00:00:00.000' },
      ]);
      assert.deepEqual(await attribution.query('SELECT lease_id, released_at FROM leases FINAL'), [{ lease_id: 'l1', released_at: null }]);
    } finally {
      await attribution.command(`DROP DATABASE ${ATTRIBUTION_DB}`);
      await attribution.close();
    }
  });
});
