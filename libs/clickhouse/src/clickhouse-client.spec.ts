import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createClickHouse, toJsonEachRow, type ClickHouse } from './clickhouse-client.js';

describe('toJsonEachRow', () => {
  it('writes one JSON object per line, bigint as a string and Dates as ISO', () => {
    const buf = toJsonEachRow([
      { id: 'a', v: 18446744073709551615n, ts: new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 6)), m: { gclid: 'x' } },
      { id: 'b\nc', skipped: undefined },
    ]);
    assert.equal(buf.toString('utf8'), '{"id":"a","v":"18446744073709551615","ts":"2024-01-02T03:04:05.006Z","m":{"gclid":"x"}}\n{"id":"b\\nc"}\n');
  });
});

interface Seen {
  url: URL;
  body: string;
}

// Stands in for a ClickHouse server's HTTP interface to check what the HTTP mode sends.
describe('ClickHouse over HTTP', () => {
  let server: Server;
  let ch: ClickHouse;
  const seen: Seen[] = [];

  before(async () => {
    server = createServer((req: IncomingMessage, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      req.on('end', () => {
        const url = new URL(req.url ?? '/', 'http://localhost');
        seen.push({ url, body });
        const sql = url.searchParams.get('query') ?? body;
        if (sql.includes('SELEC ')) {
          res.writeHead(500, { 'X-ClickHouse-Exception-Code': '62' });
          res.end('Code: 62. DB::Exception: Syntax error: failed at position 1. (SYNTAX_ERROR) (version 25.8.1.1)\n');
          return;
        }
        res.writeHead(200, { 'Content-Type': 'text/plain', 'X-ClickHouse-Format': 'JSONEachRow' });
        res.end(sql.startsWith('SELECT') ? '{"n":"1"}\n{"n":"2"}\n' : '');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    ch = createClickHouse({ url: `http://127.0.0.1:${port}`, username: 'u', password: 'p', database: 'analytics', maxMemoryUsage: 1_000_000 });
  });

  after(async () => {
    await ch.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('sends queries with the database, parameters and JSON settings, and parses rows', async () => {
    assert.equal(ch.mode, 'http');
    const rows = await ch.query<{ n: string }>('SELECT n FROM t WHERE site_id = {site:String}', { site: 's1' });
    assert.deepEqual(rows, [{ n: '1' }, { n: '2' }]);
    const req = seen.at(-1);
    assert.equal(req?.body, 'SELECT n FROM t WHERE site_id = {site:String} \nFORMAT JSONEachRow');
    assert.equal(req?.url.searchParams.get('database'), 'analytics');
    assert.equal(req?.url.searchParams.get('param_site'), 's1');
    assert.equal(req?.url.searchParams.get('output_format_json_quote_64bit_integers'), '1');
    assert.equal(req?.url.searchParams.get('max_memory_usage'), '1000000');
  });

  it('inserts a JSONEachRow body with the dedup token in the statement', async () => {
    await ch.insertJsonEachRow('visits', [{ event_id: 'e1' }, { event_id: "e'2" }], { dedupToken: 'topic:0:1-2' });
    const req = seen.at(-1);
    assert.equal(
      req?.url.searchParams.get('query'),
      "INSERT INTO analytics.visits SETTINGS date_time_input_format = 'best_effort', max_memory_usage = 1000000, " +
        "insert_deduplication_token = 'topic:0:1-2' FORMAT JSONEachRow",
    );
    assert.equal(req?.body, '{"event_id":"e1"}\n{"event_id":"e\'2"}\n');
  });

  it('throws server errors', async () => {
    await assert.rejects(ch.query('SELEC 1'), /Syntax error/);
    await assert.rejects(ch.command('SELEC 1'), /Syntax error/);
  });
});
