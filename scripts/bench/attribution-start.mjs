// attribution's start-up as in production: its own process (services/attribution/dist/main.js),
// timed from spawn to /readyz 200, with its resident memory (VmRSS at ready and 5 s later,
// VmHWM) and whether the embedded engine's library is mapped. Modes (BENCH_MODES, default
// "server,embedded"): server = CLICKHOUSE_URL (the test server of the ClickHouse HTTP interface
// in a process of its own, or BENCH_CLICKHOUSE_URL), embedded = the in-process engine.
// A first, uncounted start per mode applies the migrations; BENCH_RUNS (default 3) starts follow.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKafka, provisionTopics } from '@calltrack/kafka';
import { createLogger } from '@calltrack/telemetry';
import { freePort, waitFor } from '@calltrack/testing';

const brokers = process.env.KAFKA_BROKERS ?? '127.0.0.1:9092';
const runs = Number(process.env.BENCH_RUNS ?? 3);
const modes = (process.env.BENCH_MODES ?? 'server,embedded').split(',');
const prefix = `bench.start.${randomUUID().slice(0, 8)}.`;
const root = new URL('../../', import.meta.url).pathname;
const logger = createLogger('bench', 'warn');
await provisionTopics(createKafka({ brokers: brokers.split(','), clientId: 'bench-start', prefix }, logger), prefix, logger);

const status = (pid) => {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
  return { rssMb: kb('VmRSS') / 1024, hwmMb: kb('VmHWM') / 1024 };
};
const chdbMapped = (pid) => readFileSync(`/proc/${pid}/maps`, 'utf8').includes('libchdb');

async function startOnce(env) {
  const port = await freePort();
  const started = performance.now();
  const child = spawn(process.execPath, [join(root, 'services/attribution/dist/main.js')], {
    env: { ...process.env, ...env, PORT: String(port), HTTP_HOST: '127.0.0.1', LOG_LEVEL: 'warn', KAFKA_BROKERS: brokers, KAFKA_TOPIC_PREFIX: prefix },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`attribution exited with ${child.exitCode}`);
        return (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.status === 200;
      },
      { timeoutMs: 180_000, intervalMs: 25, what: 'attribution ready' },
    );
    const readyMs = performance.now() - started;
    const atReady = status(child.pid);
    await new Promise((r) => setTimeout(r, 5_000));
    const settled = status(child.pid);
    return { readyMs, rssReadyMb: atReady.rssMb, rssSettledMb: settled.rssMb, hwmMb: settled.hwmMb, chdb: chdbMapped(child.pid) };
  } finally {
    const exited = new Promise((r) => child.once('exit', r));
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const dirs = [];
let server;
try {
  for (const mode of modes) {
    const env = { ADMIN_TOKEN: 'bench-admin-token-0123456789', CLICKHOUSE_DATABASE: `bench_start_${mode}` };
    if (mode === 'server') {
      let url = process.env.BENCH_CLICKHOUSE_URL;
      if (!url) {
        const dataDir = mkdtempSync(join(tmpdir(), 'calltrack-bench-chhttp-'));
        dirs.push(dataDir);
        const port = await freePort();
        server = spawn(process.execPath, [join(root, 'libs/testing/dist/clickhouse-http-server.cli.js'), '--data-dir', dataDir, '--port', String(port)], {
          stdio: ['ignore', 'ignore', 'inherit'],
        });
        url = `http://127.0.0.1:${port}`;
        await waitFor(async () => (await fetch(`${url}/ping`).catch(() => undefined))?.ok, { timeoutMs: 120_000, what: 'the ClickHouse HTTP test server' });
      }
      env.CLICKHOUSE_URL = url;
      // The service migrates its own database here (as the embedded mode does), so both modes time the same work.
      env.CLICKHOUSE_MIGRATE = 'auto';
    } else {
      const dataDir = mkdtempSync(join(tmpdir(), 'calltrack-bench-chdb-'));
      dirs.push(dataDir);
      env.CLICKHOUSE_DATA_DIR = dataDir;
    }
    await startOnce(env); // applies the migrations
    const results = [];
    for (let i = 0; i < runs; i++) results.push(await startOnce(env));
    const m = (k) => median(results.map((r) => r[k]));
    console.log(
      `${mode.padEnd(8)} runs=${runs}  ready ${(m('readyMs') / 1000).toFixed(2)} s (median; ${results.map((r) => (r.readyMs / 1000).toFixed(2)).join(' ')})  ` +
        `RSS at ready ${m('rssReadyMb').toFixed(0)} MB, 5 s later ${m('rssSettledMb').toFixed(0)} MB, peak ${m('hwmMb').toFixed(0)} MB  ` +
        `libchdb mapped: ${results.some((r) => r.chdb)}`,
    );
  }
} finally {
  if (server && server.exitCode === null) {
    const exited = new Promise((r) => server.once('exit', r));
    server.kill('SIGTERM');
    await exited;
  }
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}
