// The migrations command as the Helm Job runs it, twice at once, in two processes, against a
// ClickHouse HTTP endpoint (server mode, CLICKHOUSE_URL). The endpoint is a small stand-in
// served by this process, which owns the run's embedded engine: it runs each request's SQL on
// that engine and answers in the HTTP interface's format (rows as JSONEachRow, errors as
// "Code: N. DB::Exception: … (TYPE)" with X-ClickHouse-Exception-Code), so the two commands
// race with real DDL semantics (one CREATE of a lock generation wins) over the real client.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { createClickHouse, type ClickHouse } from '@calltrack/clickhouse';
import { MIGRATIONS_DIR } from './clickhouse-connection.js';

process.env['CLICKHOUSE_DATA_DIR'] ??= mkdtempSync(join(tmpdir(), 'calltrack-chdb-'));
const MIGRATE = fileURLToPath(new URL('../migrate.js', import.meta.url));

interface Run {
  code: number | null;
  events: Array<Record<string, unknown>>;
  stderr: string;
}

function runMigrate(env: Record<string, string>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MIGRATE], {
      env: { PATH: process.env['PATH'] ?? '', LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => {
      const events = stdout
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      resolve({ code, events, stderr });
    });
  });
}

describe('two migrations commands at once against a ClickHouse HTTP endpoint', () => {
  const dataDir = process.env['CLICKHOUSE_DATA_DIR']!;
  const database = `migrate_cli_${randomUUID().slice(0, 8)}`;
  const clients = new Map<string, ClickHouse>();
  const statementLimits: string[] = [];
  let server: Server;
  let url = '';

  const client = (db: string): ClickHouse => {
    let ch = clients.get(db);
    if (!ch) clients.set(db, (ch = createClickHouse({ dataDir, database: db })));
    return ch;
  };

  before(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => {
        const u = new URL(req.url ?? '/', 'http://localhost');
        if (u.pathname === '/ping') {
          res.end('Ok.\n');
          return;
        }
        const params = Object.fromEntries([...u.searchParams].filter(([k]) => k.startsWith('param_')).map(([k, v]) => [k.slice('param_'.length), v]));
        const sql = u.searchParams.get('query') ?? body;
        const limit = u.searchParams.get('max_execution_time');
        if (limit) statementLimits.push(limit);
        const format = /\s*FORMAT\s+JSONEachRow\s*$/i.exec(sql);
        const ch = client(u.searchParams.get('database') ?? 'default');
        const done = format
          ? ch.query<Record<string, unknown>>(sql.slice(0, format.index), params).then((rows) => {
              res.writeHead(200, { 'Content-Type': 'text/plain; charset=UTF-8', 'X-ClickHouse-Format': 'JSONEachRow' });
              res.end(rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
            })
          : ch.command(sql, params).then(() => {
              res.writeHead(200);
              res.end();
            });
        done.catch((err: { code?: string; type?: string; message?: string }) => {
          res.writeHead(500, { 'X-ClickHouse-Exception-Code': String(err.code ?? 1000) });
          res.end(`Code: ${err.code ?? 1000}. DB::Exception: ${err.message ?? 'unknown'} (${err.type ?? 'UNKNOWN_EXCEPTION'}) (version test)\n`);
        });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const admin = client('default');
    await admin.command(`DROP DATABASE IF EXISTS ${database}`);
    for (const ch of clients.values()) await ch.close();
  });

  it('both exit 0, each migration is applied exactly once, each statement under its time limit', async () => {
    const env = { CLICKHOUSE_URL: url, CLICKHOUSE_DATABASE: database, CLICKHOUSE_MIGRATION_TIMEOUT_SECONDS: '1800' };
    const runs = await Promise.all([runMigrate(env), runMigrate(env)]);
    for (const r of runs) assert.equal(r.code, 0, r.stderr + JSON.stringify(r.events.slice(-3)));

    const files = readdirSync(MIGRATIONS_DIR).filter((f) => /^\d{4}_.*\.sql$/.test(f));
    const applied = runs.map((r) => r.events.find((e) => e['event'] === 'clickhouse_migrated')?.['applied'] as number[]);
    assert.deepEqual(
      [...applied[0]!, ...applied[1]!].sort((a, b) => a - b),
      files.map((_, i) => i + 1),
      'together they applied every migration once',
    );
    assert.ok(applied[0]!.length === 0 || applied[1]!.length === 0, `one of them found nothing to do: ${JSON.stringify(applied)}`);
    for (const r of runs) assert.equal(r.events.find((e) => e['event'] === 'clickhouse_migrated')?.['mode'], 'server');
    // Each held the lock once, one after the other.
    const generations = runs.map((r) => r.events.find((e) => e['event'] === 'migration_lock_acquired')?.['generation']).sort();
    assert.deepEqual(generations, [1, 2]);

    const ch = client(database);
    const recorded = await ch.query<{ version: number; n: string }>('SELECT version, count() AS n FROM _migrations GROUP BY version ORDER BY version');
    assert.equal(recorded.length, files.length);
    assert.ok(
      recorded.every((r) => r.n === '1'),
      'no version recorded twice',
    );
    // Every migration statement carried max_execution_time (the configured 1800 s; a file's own directive otherwise).
    assert.ok(statementLimits.length >= files.length, `statements with a time limit: ${statementLimits.length}`);
    assert.ok(statementLimits.every((l) => l === '1800'));
  });
});
