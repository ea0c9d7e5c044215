// Concurrent migration runners on one engine. Two processes cannot open one embedded data
// directory, so the runners here are concurrent clients of this process's engine: each
// with its own client, racing for the same lock tables with the same DDL a runner in another
// process (a second Job pod against a server) would send. runMigrations also queues runners of
// one process in memory; the lock tests call acquireMigrationLock directly, without that queue.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createClickHouse, type ClickHouse } from './clickhouse-client.js';
import { acquireMigrationLock, MigrationLockLostError, type HeldMigrationLock } from './migration-lock.js';
import { runMigrations } from './migration-runner.js';
import { migrateDatabase, waitForSchema } from './migrate-database.js';
import { openTestDatabase, testDataDir } from './test-database.fixture.js';

const DB = 'test_migration_lock';

async function waitUntil(what: string, fn: () => Promise<boolean> | boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('migration lock and concurrent runners on the embedded engine', () => {
  let ch: ClickHouse;
  let other: ClickHouse;
  let admin: ClickHouse;
  let dir: string;

  const lockGenerations = async (): Promise<number[]> =>
    (await ch.query<{ name: string }>("SELECT name FROM system.tables WHERE database = currentDatabase() AND startsWith(name, '_migrations_lock_')"))
      .map((r) => Number(r.name.slice('_migrations_lock_'.length)))
      .sort((a, b) => a - b);

  // A fresh database per test: the lock state of one test must not carry over.
  const reset = async (): Promise<void> => {
    await admin.command(`DROP DATABASE IF EXISTS ${DB}`);
    await admin.command(`CREATE DATABASE ${DB}`);
  };

  before(async () => {
    ch = await openTestDatabase(DB);
    other = createClickHouse({ dataDir: testDataDir(), database: DB });
    admin = createClickHouse({ dataDir: testDataDir() });
    dir = mkdtempSync(join(tmpdir(), 'calltrack-migration-lock-'));
    writeFileSync(join(dir, '0001_create_facts.sql'), 'CREATE TABLE IF NOT EXISTS facts (n UInt64) ENGINE = MergeTree ORDER BY n;\n');
    // Not re-runnable on purpose: a second application would show as a second row.
    writeFileSync(join(dir, '0002_insert_seed.sql'), 'INSERT INTO facts VALUES (1000000);\n');
    writeFileSync(join(dir, '0003_backfill_facts.sql'), '-- timeout_seconds: 7200\nINSERT INTO facts SELECT number FROM numbers(200000);\n');
  });

  after(async () => {
    rmSync(dir, { recursive: true, force: true });
    await admin.command(`DROP DATABASE IF EXISTS ${DB}`);
    await admin.close();
    await other.close();
    await ch.close();
  });

  it('two runners at once: each migration is applied exactly once and both succeed', async () => {
    await reset();
    const events: string[][] = [[], []];
    const [a, b] = await Promise.all([runMigrations(ch, dir, (e) => events[0]!.push(e)), runMigrations(other, dir, (e) => events[1]!.push(e))]);
    assert.deepEqual([...a, ...b].sort(), [1, 2, 3], `one runner applied everything: ${JSON.stringify([a, b])}`);
    assert.ok(a.length === 0 || b.length === 0, 'the other found nothing pending');
    assert.deepEqual(await ch.query('SELECT version, count() AS n FROM _migrations GROUP BY version ORDER BY version'), [
      { version: 1, n: '1' },
      { version: 2, n: '1' },
      { version: 3, n: '1' },
    ]);
    assert.deepEqual(await ch.query('SELECT count() AS total, countIf(n = 1000000) AS seeds FROM facts'), [{ total: '200001', seeds: '1' }]);
    for (const e of events) assert.ok(e.includes('migration_lock.acquired') && e.includes('migration_lock.released'), e.join());
    // Each runner took the lock once, one after the other: generations 1 and 2, the older one cleaned up.
    assert.deepEqual(await lockGenerations(), [2]);
  });

  it('contenders for the lock in the database hold it one at a time', async () => {
    await reset();
    const clients = Array.from({ length: 5 }, () => createClickHouse({ dataDir: testDataDir(), database: DB }));
    let inside = 0;
    let mostInside = 0;
    const held: number[] = [];
    try {
      await Promise.all(
        clients.map(async (client, i) => {
          const lock = await acquireMigrationLock(client, { holder: `contender-${i}`, pollMs: 20 });
          inside += 1;
          mostInside = Math.max(mostInside, inside);
          held.push(lock.generation);
          // Work under the lock that lets the others' claims interleave with ours.
          await client.query('SELECT count() FROM system.tables');
          await lock.assertHeld();
          await client.query('SELECT 1');
          inside -= 1;
          await lock.release();
        }),
      );
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
    assert.equal(mostInside, 1, 'never two holders at once');
    assert.equal(held.length, 5);
    assert.deepEqual(
      [...held].sort((a, b) => a - b),
      [1, 2, 3, 4, 5],
      'each claim is the next generation',
    );
  });

  it('breaks the stale lock of a runner that died, then applies the migrations', async () => {
    await reset();
    // What a runner killed mid-way leaves behind: its claim, last heartbeat an hour ago.
    await ch.command(
      "CREATE TABLE _migrations_lock_7 (holder String, at DateTime64(3, 'UTC'), released UInt8, ttl_ms UInt32) ENGINE = MergeTree ORDER BY at " +
        "COMMENT 'calltrack migration lock holder=dead-runner ttl_ms=1000'",
    );
    await ch.command("INSERT INTO _migrations_lock_7 SELECT 'dead-runner', now64(3) - INTERVAL 1 HOUR, 0, 1000");
    const events: Array<[string, Record<string, unknown>]> = [];
    assert.deepEqual(await runMigrations(ch, dir, (e, f) => events.push([e, f]), { lock: { ttlMs: 1000 } }), [1, 2, 3]);
    const breaking = events.find(([e]) => e === 'migration_lock.breaking');
    assert.equal(breaking?.[1]['staleHolder'], 'dead-runner');
    assert.ok(Number(breaking?.[1]['heartbeatAgeMs']) >= 3_600_000);
    assert.deepEqual(await lockGenerations(), [8], 'claimed as generation 8; the dead one cleaned up');
  });

  it('a claim whose holder never heartbeated is stale after the ttl from its creation', async () => {
    await reset();
    await ch.command(
      "CREATE TABLE _migrations_lock_1 (holder String, at DateTime64(3, 'UTC'), released UInt8, ttl_ms UInt32) ENGINE = MergeTree ORDER BY at " +
        "COMMENT 'calltrack migration lock holder=crashed-after-create ttl_ms=200'",
    );
    const events: Array<[string, Record<string, unknown>]> = [];
    const lock = await acquireMigrationLock(ch, { ttlMs: 200, pollMs: 20, log: (e, f) => events.push([e, f]) });
    try {
      assert.equal(lock.generation, 2);
      assert.equal(events.find(([e]) => e === 'migration_lock.breaking')?.[1]['staleHolder'], 'crashed-after-create');
    } finally {
      await lock.release();
    }
  });

  it('a holder taken for dead finds out before its next step', async () => {
    await reset();
    // A holder that stopped heartbeating (a paused process): ttl 300 ms, no heartbeat for an hour.
    const stalled = await acquireMigrationLock(ch, { holder: 'stalled', ttlMs: 300, heartbeatMs: 3_600_000 });
    const taker = await acquireMigrationLock(other, { holder: 'taker', ttlMs: 300, pollMs: 20 });
    try {
      assert.equal(taker.generation, stalled.generation + 1);
      await assert.rejects(stalled.assertHeld(), MigrationLockLostError);
      await taker.assertHeld();
    } finally {
      await stalled.release();
      await taker.release();
    }
  });

  it('a holder that keeps heartbeating is waited for, not broken', async () => {
    await reset();
    const holder = await acquireMigrationLock(ch, { holder: 'alive', ttlMs: 2000, heartbeatMs: 100 });
    const events: Array<[string, Record<string, unknown>]> = [];
    let waiter: HeldMigrationLock | undefined;
    const waiting = acquireMigrationLock(other, { holder: 'waiter', ttlMs: 2000, pollMs: 50, log: (e, f) => events.push([e, f]) }).then((l) => (waiter = l));
    try {
      await waitUntil('the waiter to see the lock held', () => events.some(([e]) => e === 'migration_lock.waiting'));
      // Heartbeats over twice the ttl while the waiter looks: a stale judgement would have broken it by now.
      await waitUntil('40 heartbeats', async () => {
        const [row] = await ch.query<{ n: string }>(`SELECT count() AS n FROM _migrations_lock_${holder.generation}`);
        return Number(row?.n) >= 40;
      });
      await holder.assertHeld();
      assert.equal(waiter, undefined, 'still waiting');
      assert.equal(events.find(([e]) => e === 'migration_lock.waiting')?.[1]['holder'], 'alive');
    } finally {
      await holder.release();
    }
    const taken = await waiting;
    try {
      assert.equal(taken.generation, holder.generation + 1);
      assert.ok(!events.some(([e]) => e === 'migration_lock.breaking'), 'a released lock is taken, not broken');
    } finally {
      await taken.release();
    }
  });

  it('an older build (a rollback) finds the newer schema it runs on ahead, and applies nothing', async () => {
    await reset();
    assert.deepEqual(await runMigrations(ch, dir), [1, 2, 3]);
    const older = mkdtempSync(join(tmpdir(), 'calltrack-migration-older-'));
    try {
      for (const f of ['0001_create_facts.sql', '0002_insert_seed.sql']) writeFileSync(join(older, f), readFileSync(join(dir, f)));
      const events: Array<[string, Record<string, unknown>]> = [];
      assert.deepEqual(await runMigrations(other, older, (e, f) => events.push([e, f])), []);
      assert.deepEqual(events.find(([e]) => e === 'migrations.ahead')?.[1]['applied'], ['0003_backfill_facts']);
      assert.deepEqual(await waitForSchema(other, older), { required: 2, applied: 3, missing: [], ready: true });
      assert.deepEqual(await ch.query('SELECT count() AS total FROM facts'), [{ total: '200001' }], 'nothing ran again');
    } finally {
      rmSync(older, { recursive: true, force: true });
    }
  });

  it('a waiting reader sees the schema once the migrations are applied', async () => {
    await reset();
    const behind: number[] = [];
    let status: Awaited<ReturnType<typeof waitForSchema>> | undefined;
    const waiting = waitForSchema(other, dir, { pollMs: 50, onBehind: (s) => behind.push(s.applied) }).then((s) => (status = s));
    await waitUntil('the reader to report the schema behind', () => behind.length > 0);
    assert.deepEqual(behind, [0]);
    assert.equal(status, undefined);
    await migrateDatabase({ connection: { dataDir: testDataDir() }, database: DB, dir });
    await waiting;
    assert.deepEqual(status, { required: 3, applied: 3, missing: [], ready: true });
  });
});
