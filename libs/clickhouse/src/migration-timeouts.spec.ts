import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createClickHouse } from './clickhouse-client.js';
import { readMigrations } from './migration-runner.js';

describe('migration time limits', () => {
  it('reads a `-- timeout_seconds: N` line of a migration', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'calltrack-migration-timeouts-'));
    try {
      writeFileSync(join(dir, '0001_create_a.sql'), 'CREATE TABLE a (x UInt8) ENGINE = Memory;\n');
      writeFileSync(join(dir, '0002_backfill_a.sql'), '-- a long backfill\n-- timeout_seconds: 14400\nINSERT INTO a SELECT 1;\n');
      const files = await readMigrations(dir);
      assert.equal(files[0]?.timeoutSeconds, undefined);
      assert.equal(files[1]?.timeoutSeconds, 14_400);
      assert.deepEqual(files[1]?.statements, ['-- a long backfill\n-- timeout_seconds: 14400\nINSERT INTO a SELECT 1']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  // A stand-in for the server's HTTP interface: what the HTTP mode sends, and a slow answer.
  describe('over HTTP', () => {
    let server: Server;
    let url = '';
    const queries: URL[] = [];

    before(async () => {
      server = createServer((req, res) => {
        const u = new URL(req.url ?? '/', 'http://localhost');
        queries.push(u);
        req.resume();
        const delay = Number(u.searchParams.get('param_delay') ?? 0);
        setTimeout(() => {
          res.writeHead(200, { 'Content-Type': 'text/plain' });
          res.end('');
        }, delay);
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });

    after(async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });

    it("sends a statement's time limit as a query-scoped setting", async () => {
      const ch = createClickHouse({ url, database: 'analytics' });
      try {
        await ch.command('ALTER TABLE t UPDATE x = 1 WHERE 1', undefined, { serverSettings: { max_execution_time: 7200 } });
        assert.equal(queries.at(-1)?.searchParams.get('max_execution_time'), '7200');
        await ch.command('SELECT 1');
        assert.equal(queries.at(-1)?.searchParams.get('max_execution_time'), null, 'not carried over to the next statement');
      } finally {
        await ch.close();
      }
    });

    it('gives up on a request after requestTimeoutMs, and waits longer when it is raised', async () => {
      const short = createClickHouse({ url, requestTimeoutMs: 200 });
      const long = createClickHouse({ url, requestTimeoutMs: 5000 });
      try {
        await assert.rejects(short.command('SELECT {delay:UInt32}', { delay: 1500 }), /timeout/i);
        await long.command('SELECT {delay:UInt32}', { delay: 1500 });
      } finally {
        await short.close();
        await long.close();
      }
    });
  });
});
