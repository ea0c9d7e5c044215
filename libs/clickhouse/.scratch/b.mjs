import { createChdbConnection } from 'chdb/connection';
import { createClient } from '@clickhouse/client';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
const dir = mkdtempSync(join(tmpdir(), 'chx-'));
const conn = createChdbConnection({ path: dir });
const conn2 = createChdbConnection({ path: dir });
const c = createClient({ connection: conn });
const c2 = createClient({ connection: conn2 });
const q = async (cl, sql, query_params, clickhouse_settings) => (await cl.query({ query: sql, format: 'JSONEachRow', query_params, clickhouse_settings })).json();
await c.command({ query: 'SET max_threads = 3' });
console.log('sessions share SET?', await q(c2, "SELECT value FROM system.settings WHERE name='max_threads'"), await q(c, "SELECT value FROM system.settings WHERE name='max_threads'"));
await c.command({ query: 'CREATE DATABASE IF NOT EXISTS da' });
await c.command({ query: 'CREATE DATABASE IF NOT EXISTS db' });
console.log('use+bind', await q(c, 'USE da; SELECT currentDatabase() d, {x:String} x', { x: 'hi' }, { max_memory_usage: 1000000000 }));
console.log('after use', await q(c, 'SELECT currentDatabase() d'), await q(c2, 'SELECT currentDatabase() d'));
// concurrency atomicity
const jobs = [];
for (let i = 0; i < 60; i++) { const d = i % 2 ? 'da' : 'db'; jobs.push(q(c, `USE ${d}; SELECT currentDatabase() d, sleep(0.01) s`).then(r => r[0].d === d)); }
console.log('atomic USE', (await Promise.all(jobs)).every(Boolean));
await c.command({ query: "CREATE TABLE da.t (id String, v UInt64, ts DateTime64(3,'UTC')) ENGINE = ReplacingMergeTree ORDER BY id SETTINGS non_replicated_deduplication_window = 1000" });
const buf = Buffer.from('{"id":"a","v":"18446744073709551615","ts":"2024-01-01T00:00:00.123Z"}\n{"id":"b","v":2,"ts":1704067200123}\n');
console.log(await conn.chdb.rawInsert({ table: 'da.t', values: buf, format: 'JSONEachRow', settings: { insert_deduplication_token: "t'1" } }));
console.log(await conn.chdb.rawInsert({ table: 'da.t', values: buf, format: 'JSONEachRow', settings: { insert_deduplication_token: "t'1" } }));
console.log('session token', await q(c, "SELECT value FROM system.settings WHERE name='insert_deduplication_token'"));
console.log(await q(c, 'SELECT *, toTypeName(v) FROM da.t'));
console.log(await q(c, 'SELECT count() n FROM da.t', undefined, { output_format_json_quote_64bit_integers: 1 }));
console.log(await q(c2, 'SELECT count() n FROM da.t'));
// empty token via settings clause after leaked session token
await c.command({ query: "SET insert_deduplication_token = 'leak'" });
const b2 = Buffer.from('{"id":"c","v":3,"ts":0}\n');
await conn.chdb.rawInsert({ table: 'da.t', values: b2, format: 'JSONEachRow', settings: { insert_deduplication_token: '' } });
await conn.chdb.rawInsert({ table: 'da.t', values: Buffer.from('{"id":"d","v":3,"ts":0}\n'), format: 'JSONEachRow', settings: { insert_deduplication_token: '' } });
console.log('after leak override', await q(c, 'SELECT id FROM da.t ORDER BY id'));
try { await conn.chdb.rawInsert({ table: 'da.nope', values: b2, format: 'JSONEachRow' }); } catch (e) { console.log('rawInsert err', e.constructor.name, e.code, e.message.slice(0, 120)); }
try { await conn.chdb.rawInsert({ table: 'da.t', values: Buffer.from('{"id":1,"v":"x"}\n'), format: 'JSONEachRow' }); } catch (e) { console.log('rawInsert err2', e.constructor.name, e.code, e.message.slice(0, 120)); }
try { await c.command({ query: 'CREATE TABLE x (a Strin) ENGINE=Memory' }); } catch (e) { console.log('cmd err', e.constructor.name, e.code, e.message.slice(0, 120)); }
await c.close(); await c2.close();
