import { createChdbConnection } from 'chdb/connection';
import { createClient } from '@clickhouse/client';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
const dir = mkdtempSync(join(tmpdir(), 'chx-'));
const conn = createChdbConnection({ path: dir });
const c = createClient({ connection: conn, database: 'nonexist', clickhouse_settings: { max_memory_usage: '2000000000' } });
const q = async (sql, query_params) => (await c.query({ query: sql, format: 'JSONEachRow', query_params })).json();
console.log('db', await q('SELECT currentDatabase() d, version() v'));
console.log('mem', await q("SELECT name, value, changed FROM system.settings WHERE name IN ('max_memory_usage','insert_deduplication_token','output_format_json_quote_64bit_integers','non_replicated_deduplication_window')"));
await c.command({ query: 'CREATE DATABASE IF NOT EXISTS t1' });
await c.command({ query: "CREATE TABLE t1.x (id String, v UInt64, ts DateTime64(3,'UTC'), m Map(String,String), n Nullable(DateTime64(3,'UTC')), ts2 DateTime64(3,'UTC') DEFAULT now64(3)) ENGINE = MergeTree ORDER BY id SETTINGS non_replicated_deduplication_window = 1000" });
await c.insert({ table: 't1.x', values: [{ id: 'a', v: 1, ts: '2024-01-01 00:00:00.123', m: {k:'v'}, n: null }], format: 'JSONEachRow', clickhouse_settings: { insert_deduplication_token: 'tok1' } });
console.log('after insert settings', await q("SELECT name, value FROM system.settings WHERE name IN ('insert_deduplication_token')"));
await c.insert({ table: 't1.x', values: [{ id: 'b', v: 2, ts: '2024-01-01 00:00:00.123', m: {}, n: null }], format: 'JSONEachRow' });
console.log('rows after 2nd insert w/o token (same token leak?)', await q('SELECT * FROM t1.x ORDER BY id'));
console.log('bind', await q('SELECT {a:String} s, {b:UInt64} u, {d:DateTime64(3)} d', { a: "o'k", b: 18446744073709551615n, d: '2024-01-01 00:00:00.5' }));
try { await q('SELEC 1'); } catch (e) { console.log('err', e.constructor.name, e.code, e.type, e.message.slice(0,100)); }
try { createChdbConnection({ path: mkdtempSync(join(tmpdir(), 'chx-')) }); } catch (e) { console.log('2nd dir', e.constructor.name, e.message); }
try { const c2 = createChdbConnection({ path: dir }); console.log('same dir second session ok'); await c2.close(); console.log('closed c2'); console.log(await q('SELECT 1 one')); } catch (e) { console.log('same dir', e.constructor.name, e.message); }
await c.close();
