import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BatchWriter } from './batch-writer.js';
import { createClickHouse, EmbeddedEngineConflictError, type ClickHouse } from './clickhouse-client.js';
import { openTestDatabase, testDataDir } from './test-database.fixture.js';

const DB = 'test_clickhouse_client';

interface Event {
  event_id: string;
  site_id: string;
  n: number;
}

const events = (prefix: string, count: number): Event[] => Array.from({ length: count }, (_, i) => ({ event_id: `${prefix}-${i}`, site_id: 'site-a', n: i }));

describe('ClickHouse on the embedded engine', () => {
  let ch: ClickHouse;

  before(async () => {
    ch = await openTestDatabase(DB);
    // Replacing table as in production, plus a plain MergeTree to see the token dedup alone.
    await ch.command(`CREATE TABLE replacing_events (event_id String, site_id LowCardinality(String), n UInt32,
        ingested_at DateTime64(3, 'UTC') DEFAULT now64(3))
      ENGINE = ReplacingMergeTree(ingested_at) ORDER BY (site_id, event_id)
      SETTINGS non_replicated_deduplication_window = 1000`);
    await ch.command(`CREATE TABLE plain_events (event_id String, site_id String, n UInt32)
      ENGINE = MergeTree ORDER BY event_id SETTINGS non_replicated_deduplication_window = 1000`);
  });

  after(async () => {
    await ch.close();
  });

  const count = async (table: string, final = false): Promise<number> => {
    const rows = await ch.query<{ c: string }>(`SELECT count() AS c FROM ${table}${final ? ' FINAL' : ''}`);
    return Number(rows[0]?.c);
  };

  it('binds query parameters and resolves unqualified names in its own database', async () => {
    const rows = await ch.query<{ db: string; s: string; big: string }>('SELECT currentDatabase() AS db, {s:String} AS s, {big:UInt64} AS big', {
      s: "it's",
      big: '18446744073709551615',
    });
    assert.deepEqual(rows, [{ db: DB, s: "it's", big: '18446744073709551615' }]);
  });

  it('keeps one copy when the same batch is written twice with the same token', async () => {
    const writer = new BatchWriter<Event>(ch, { table: 'replacing_events', maxRowsPerInsert: 3 });
    const batch = events('dup', 7);
    assert.deepEqual(await writer.write(batch, 'topic:0:100-106'), { rows: 7, inserts: 3 });
    await writer.write(batch, 'topic:0:100-106');
    assert.equal(await count('replacing_events', true), 7);
    // The token alone already dropped the retry, before any merge.
    assert.equal(await count('replacing_events'), 7);
  });

  it('drops a repeated token on plain MergeTree, whatever the rows, and keeps a new token', async () => {
    await ch.insertJsonEachRow('plain_events', events('p', 2), { dedupToken: 't1' });
    await ch.insertJsonEachRow('plain_events', events('p', 2), { dedupToken: 't1' });
    assert.equal(await count('plain_events'), 2);
    // The token alone decides: other rows under a used token are dropped too...
    await ch.insertJsonEachRow('plain_events', events('other', 2), { dedupToken: 't1' });
    assert.equal(await count('plain_events'), 2);
    // ...and identical rows under a new token are kept.
    await ch.insertJsonEachRow('plain_events', events('p', 2), { dedupToken: 't2' });
    assert.equal(await count('plain_events'), 4);
  });

  it('ignores a dedup token left in the shared engine session', async () => {
    // Anyone's `SET` (chDB also turns clickhouse_settings into SET) persists on the shared session.
    await ch.command("SET insert_deduplication_token = 'leaked'");
    await ch.insertJsonEachRow('plain_events', events('leak-a', 1));
    await ch.insertJsonEachRow('plain_events', events('leak-b', 1));
    assert.equal(await count('plain_events'), 6);
    await ch.command("SET insert_deduplication_token = ''");
  });

  it('round-trips column types through JSONEachRow', async () => {
    await ch.command(`CREATE TABLE typed (id String, v UInt64, ts DateTime64(3, 'UTC'), m Map(String, String),
        n Nullable(DateTime64(3, 'UTC')), f UInt8) ENGINE = MergeTree ORDER BY id`);
    await ch.insertJsonEachRow(`${DB}.typed`, [
      { id: 'a', v: 18446744073709551615n, ts: new Date('2024-03-01T10:20:30.456Z'), m: { gclid: 'g1' }, n: null, f: 1 },
    ]);
    const rows = await ch.query<Record<string, unknown>>('SELECT id, v, ts, m, n, f FROM typed');
    assert.deepEqual(rows, [{ id: 'a', v: '18446744073709551615', ts: '2024-03-01 10:20:30.456', m: { gclid: 'g1' }, n: null, f: 1 }]);
  });

  it('throws query, command and insert errors', async () => {
    await assert.rejects(ch.query('SELEC 1'), /Syntax error/);
    await assert.rejects(ch.command('CREATE TABLE broken (a Strin) ENGINE = Memory'), /Unknown data type/);
    await assert.rejects(ch.query('SELECT * FROM no_such_table'), /no_such_table/);
    await assert.rejects(ch.insertJsonEachRow('no_such_table', events('x', 1)), /no_such_table/);
    await assert.rejects(ch.insertJsonEachRow('plain_events', [{ event_id: 'x', n: 'not a number' }]), /Cannot parse|CANNOT_PARSE/);
    await assert.rejects(ch.insertJsonEachRow('bad name;', events('x', 1)), /invalid ClickHouse table name/);
  });

  it('pings the engine', async () => {
    await ch.ping();
  });

  it('shares one engine per data directory and refuses a second directory', async () => {
    const other = mkdtempSync(join(tmpdir(), 'calltrack-chdb-other-'));
    try {
      assert.throws(() => createClickHouse({ dataDir: other }), EmbeddedEngineConflictError);
      assert.throws(() => createClickHouse({ dataDir: other }), /one embedded data directory per process/);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
    // Same directory: a second client works and closing it leaves the first one running.
    const second = createClickHouse({ dataDir: testDataDir(), database: DB });
    assert.equal(await count('plain_events'), Number((await second.query<{ c: string }>('SELECT count() c FROM plain_events'))[0]?.c));
    await second.close();
    await second.close();
    await assert.rejects(second.query('SELECT 1'), /closed/);
    await ch.ping();
  });

  it('keeps each client in its own database when they share the engine', async () => {
    const other = await openTestDatabase(`${DB}_other`);
    try {
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => (i % 2 ? ch : other).query<{ db: string }>('SELECT currentDatabase() AS db').then((r) => r[0]?.db)),
      );
      assert.deepEqual(
        results,
        Array.from({ length: 20 }, (_, i) => (i % 2 ? DB : `${DB}_other`)),
      );
    } finally {
      await other.command(`DROP DATABASE ${DB}_other`);
      await other.close();
    }
  });
});
