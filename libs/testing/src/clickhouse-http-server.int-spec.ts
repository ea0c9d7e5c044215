// libs/clickhouse in server mode (HTTP, @clickhouse/client's real transport) against the
// real engine: the test server serves the ClickHouse HTTP interface from the embedded
// engine this process's other tests use, so what is written over HTTP is read back by the
// embedded client and the other way round.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { createClient } from '@clickhouse/client';
import { BatchWriter, createClickHouse, runMigrations, type ClickHouse } from '@calltrack/clickhouse';
import { startClickHouseHttpServer, type ClickHouseHttpServer } from './clickhouse-http-server.js';

const DB = 'test_clickhouse_http';
const USER = 'calltrack';
const PASSWORD = "s3cret:with'quote";
const MIGRATIONS = join(dirname(fileURLToPath(import.meta.url)), '../../../services/attribution/migrations');

// scripts/test.sh gives the whole run one engine directory; alone, this file picks one.
process.env['CLICKHOUSE_DATA_DIR'] ??= mkdtempSync(join(tmpdir(), 'calltrack-chdb-'));
const dataDir = process.env['CLICKHOUSE_DATA_DIR'];

interface Event {
  event_id: string;
  site_id: string;
  n: number;
}
const events = (prefix: string, count: number): Event[] => Array.from({ length: count }, (_, i) => ({ event_id: `${prefix}-${i}`, site_id: 'site-a', n: i }));

describe('ClickHouse over HTTP against the real engine (test server)', () => {
  let server: ClickHouseHttpServer;
  let ch: ClickHouse;
  let embedded: ClickHouse;

  before(async () => {
    server = await startClickHouseHttpServer({ dataDir, users: { [USER]: PASSWORD } });
    const admin = createClickHouse({ url: server.url, username: USER, password: PASSWORD });
    try {
      await admin.command(`DROP DATABASE IF EXISTS ${DB}`);
      await admin.command(`CREATE DATABASE ${DB}`);
    } finally {
      await admin.close();
    }
    ch = createClickHouse({ url: server.url, username: USER, password: PASSWORD, database: DB });
    assert.equal(ch.mode, 'http');
    embedded = createClickHouse({ dataDir, database: DB });
    await ch.command(`CREATE TABLE plain_events (event_id String, site_id String, n UInt32)
      ENGINE = MergeTree ORDER BY event_id SETTINGS non_replicated_deduplication_window = 1000`);
    await ch.command(`CREATE TABLE replacing_events (event_id String, site_id LowCardinality(String), n UInt32,
        ingested_at DateTime64(3, 'UTC') DEFAULT now64(3))
      ENGINE = ReplacingMergeTree(ingested_at) ORDER BY (site_id, event_id) SETTINGS non_replicated_deduplication_window = 1000`);
  });

  after(async () => {
    await ch?.command(`DROP DATABASE IF EXISTS ${DB}`).catch(() => undefined);
    await ch?.close();
    await embedded?.close();
    await server?.close();
  });

  const count = async (table: string, via: ClickHouse = ch): Promise<number> =>
    Number((await via.query<{ c: string }>(`SELECT count() AS c FROM ${table}`))[0]?.c);

  it('pings with the credentials and refuses wrong ones with the server status and code', async () => {
    await ch.ping();
    const wrong = createClickHouse({ url: server.url, username: USER, password: 'nope', database: DB });
    try {
      await assert.rejects(wrong.ping(), (err: Error & { code?: string; type?: string }) => {
        assert.equal(err.code, '516');
        assert.equal(err.type, 'AUTHENTICATION_FAILED');
        return true;
      });
    } finally {
      await wrong.close();
    }
    const raw = await fetch(`${server.url}/?query=SELECT%201`, { headers: { authorization: `Basic ${Buffer.from(`${USER}:nope`).toString('base64')}` } });
    assert.equal(raw.status, 403);
    assert.equal(raw.headers.get('x-clickhouse-exception-code'), '516');
    assert.equal((await fetch(`${server.url}/ping`)).status, 200);
  });

  it('binds parameters from their escaped text, as a server does (quotes, backslashes, tabs, arrays, NULL, 64-bit)', async () => {
    const params = { s: "it's a \\ back\tslash\nline", ids: ["a'b", 'c\\d'], n: null, big: '18446744073709551615', day: '2026-03-01 10:20:30.456' };
    const rows = await ch.query<Record<string, unknown>>(
      'SELECT currentDatabase() AS db, {s:String} AS s, {ids:Array(String)} AS ids, {n:Nullable(String)} AS n, {big:UInt64} AS big, {day:DateTime64(3)} AS day',
      params,
    );
    assert.deepEqual(rows, [{ db: DB, s: params.s, ids: params.ids, n: null, big: params.big, day: params.day }]);
  });

  it('writes over HTTP what the embedded client reads, and the other way round (one engine)', async () => {
    await ch.insertJsonEachRow('plain_events', events('http', 3), { dedupToken: 'shared-1' });
    assert.equal(await count('plain_events', embedded), 3);
    await embedded.insertJsonEachRow('plain_events', events('emb', 2), { dedupToken: 'shared-2' });
    assert.equal(await count('plain_events'), 5);
  });

  it('drops a retried insert with the same token and keeps a new token (idempotent batches over HTTP)', async () => {
    const writer = new BatchWriter<Event>(ch, { table: 'replacing_events', maxRowsPerInsert: 3 });
    const batch = events('dup', 7);
    assert.deepEqual(await writer.write(batch, 'topic:0:100-106'), { rows: 7, inserts: 3 });
    await writer.write(batch, 'topic:0:100-106');
    assert.equal(await count('replacing_events'), 7);
    await ch.insertJsonEachRow('plain_events', events('tok', 1), { dedupToken: 'tok-a' });
    await ch.insertJsonEachRow('plain_events', events('tok', 1), { dedupToken: 'tok-a' });
    await ch.insertJsonEachRow('plain_events', events('tok', 1), { dedupToken: 'tok-b' });
    assert.equal(await count('plain_events'), 7);
  });

  it('never carries one request’s settings or parameters into the next', async () => {
    // A token sent as a URL setting of one statement must not make the next insert a "duplicate".
    const client = createClient({ url: server.url, username: USER, password: PASSWORD, database: DB });
    try {
      await client.command({ query: 'SELECT 1', clickhouse_settings: { insert_deduplication_token: 'leak' } });
      await client.command({ query: 'SELECT {p:String}', query_params: { p: 'left over' } });
    } finally {
      await client.close();
    }
    await ch.insertJsonEachRow('plain_events', events('leak-a', 1));
    await ch.insertJsonEachRow('plain_events', events('leak-b', 1));
    assert.equal(await count('plain_events'), 9);
    await assert.rejects(ch.query('SELECT {p:String} AS p'), /UNKNOWN_QUERY_PARAMETER|Substitution .p. is not set/);
  });

  it('round-trips column types through JSONEachRow as a server does', async () => {
    await ch.command(`CREATE TABLE typed (id String, v UInt64, ts DateTime64(3, 'UTC'), m Map(String, String),
        n Nullable(DateTime64(3, 'UTC')), f UInt8) ENGINE = MergeTree ORDER BY id`);
    await ch.insertJsonEachRow('typed', [{ id: 'a', v: 18446744073709551615n, ts: new Date('2024-03-01T10:20:30.456Z'), m: { gclid: 'g1' }, n: null, f: 1 }]);
    const expected = [{ id: 'a', v: '18446744073709551615', ts: '2024-03-01 10:20:30.456', m: { gclid: 'g1' }, n: null, f: 1 }];
    assert.deepEqual(await ch.query('SELECT id, v, ts, m, n, f FROM typed'), expected);
    assert.deepEqual(await embedded.query('SELECT id, v, ts, m, n, f FROM typed'), expected);
  });

  it('throws the engine’s errors with their code, type and the server’s HTTP status', async () => {
    await assert.rejects(ch.query('SELEC 1'), (err: Error & { code?: string; type?: string }) => err.code === '62' && err.type === 'SYNTAX_ERROR');
    await assert.rejects(ch.command('CREATE TABLE broken (a Strin) ENGINE = Memory'), /Unknown data type|UNKNOWN_TYPE/);
    await assert.rejects(ch.query('SELECT * FROM no_such_table'), (err: Error & { type?: string }) => err.type === 'UNKNOWN_TABLE');
    await assert.rejects(ch.insertJsonEachRow('no_such_table', events('x', 1)), /no_such_table/);
    await assert.rejects(ch.insertJsonEachRow('plain_events', [{ event_id: 'x', n: 'not a number' }]), /Cannot parse|CANNOT_PARSE/);
    const auth = { authorization: `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}` };
    const unknown = await fetch(`${server.url}/?database=${DB}`, { method: 'POST', headers: auth, body: 'SELECT * FROM no_such_table' });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.headers.get('x-clickhouse-exception-code'), '60');
    assert.match(await unknown.text(), /^Code: 60\. DB::Exception: .*\(UNKNOWN_TABLE\) \(version [\d.]+\)\n$/s);
    const unknownSetting = await fetch(`${server.url}/?no_such_setting=1`, { method: 'POST', headers: auth, body: 'SELECT 1' });
    assert.equal(unknownSetting.status, 404);
    // GET is readonly, as on a server.
    const get = await fetch(`${server.url}/?database=${DB}&query=${encodeURIComponent("INSERT INTO plain_events (event_id) VALUES ('get')")}`, {
      headers: auth,
    });
    assert.equal(get.headers.get('x-clickhouse-exception-code'), '164');
    assert.equal(await count('plain_events'), 9);
  });

  it('answers with the headers @clickhouse/client reads, long parameters in multipart bodies and compressed both ways', async () => {
    const client = createClient({
      url: server.url,
      username: USER,
      password: PASSWORD,
      database: DB,
      use_multipart_params: true,
      compression: { request: true, response: true },
    });
    try {
      const ids = Array.from({ length: 2000 }, (_, i) => `id-${i}-${'x'.repeat(20)}`);
      const rs = await client.query({
        query: 'SELECT length({ids:Array(String)}) AS n, {s:String} AS s',
        query_params: { ids, s: "o'k" },
        format: 'JSONEachRow',
      });
      // No output_format_json_quote_64bit_integers on this raw client: the engine's default (numbers) applies.
      assert.deepEqual(await rs.json(), [{ n: 2000, s: "o'k" }]);
      assert.equal(rs.response_headers['x-clickhouse-format'], 'JSONEachRow');
      assert.equal(rs.response_headers['content-encoding'], 'gzip');
      const insert = await client.insert({ table: 'plain_events', values: events('gz', 4), format: 'JSONEachRow' });
      assert.ok(insert.query_id);
      assert.ok(insert.summary && typeof insert.summary.elapsed_ns === 'string', 'X-ClickHouse-Summary is parsed');
    } finally {
      await client.close();
    }
    assert.equal(await count('plain_events'), 13);
  });

  it('applies the attribution migrations over HTTP, and again as a no-op', async () => {
    const migrated = createClickHouse({ url: server.url, username: USER, password: PASSWORD, database: DB });
    try {
      const applied = await runMigrations(migrated, MIGRATIONS);
      assert.ok(applied.length > 0);
      assert.deepEqual(await runMigrations(migrated, MIGRATIONS), []);
      const tables = await embedded.query<{ name: string }>('SELECT name FROM system.tables WHERE database = {db:String}', { db: DB });
      assert.ok(tables.some((t) => t.name === 'calls'));
    } finally {
      await migrated.close();
    }
  });

  it('serves concurrent clients, each in its own database', async () => {
    const other = createClickHouse({ url: server.url, username: USER, password: PASSWORD, database: 'system' });
    try {
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => (i % 2 ? ch : other).query<{ db: string }>('SELECT currentDatabase() AS db').then((r) => r[0]?.db)),
      );
      assert.deepEqual(
        results,
        Array.from({ length: 20 }, (_, i) => (i % 2 ? DB : 'system')),
      );
    } finally {
      await other.close();
    }
    assert.ok(server.queries > 20);
  });
});
