// Drives POST /v1/sessions from a separate load-generating process (autocannon in a
// child process) at rising target rates, prints throughput and latency of number
// assignment, then checks the pool invariant on the events number-pool published:
// no number leased to two live sessions of one site.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createKafka, provisionTopics, replayTopics } from '@calltrack/kafka';
import { createLogger } from '@calltrack/telemetry';
import { LeaseLedger, ServiceProcess, freePort, http, waitFor } from '@calltrack/testing';

const rates = (process.env.BENCH_RATES ?? '250,500,1000,2000,3000').split(',').map(Number);
const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const poolSize = Number(process.env.BENCH_POOL_SIZE ?? 10_000);
// Several sites, as in production: each has its own pool (and one writer), spread over the partitions.
const siteCount = Number(process.env.BENCH_SITES ?? 8);
const brokers = process.env.KAFKA_BROKERS ?? '127.0.0.1:9092';
const prefix = `bench.${randomUUID().slice(0, 8)}.`;
const ADMIN_TOKEN = 'bench-admin-token-0123456789';
// A browser's user agent: bots get the default number and take no lease.
const BROWSER = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36';
const logger = createLogger('bench', 'warn');
const settings = { brokers: brokers.split(','), clientId: 'bench', prefix };
const kafka = createKafka(settings, logger);
await provisionTopics(kafka, prefix, logger);

const env = { KAFKA_BROKERS: brokers, KAFKA_TOPIC_PREFIX: prefix, ADMIN_TOKEN, LOG_LEVEL: 'warn' };
const pool = new ServiceProcess('number-pool', await freePort(), env);
// One load generator is one client address: lift the public rate limits for the run.
const tracker = new ServiceProcess('session-tracker', await freePort(), {
  ...env,
  LEASE_REPLY_TIMEOUT_MS: '2000',
  RATE_LIMIT_PER_ADDRESS_PER_MINUTE: '100000000',
  RATE_LIMIT_PER_SITE_PER_SECOND: '1000000',
});
// Stop the services whatever happens: a failed run must not leave them running.
const stopAll = () => Promise.all([tracker.stop(), pool.stop()]);
process.on('uncaughtException', async (err) => {
  process.stderr.write(`${err.stack ?? err}\n`);
  await stopAll();
  process.exit(1);
});
await Promise.all([pool.start(), tracker.start()]);

const sites = Array.from({ length: siteCount }, (_, i) => `bench-site-${i}`);
for (const [s, site] of sites.entries()) {
  // Numbers +7 495 Sxx-xx-xx per site: enough that no pool runs dry during the run.
  const numbers = Array.from({ length: poolSize }, (_, i) => `+7495${s + 1}${String(i).padStart(6, '0')}`);
  const put = await http('PUT', `${pool.url}/v1/admin/sites/${site}`, {
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    body: { name: `Bench ${s}`, country: 'RU', timeZone: 'Europe/Moscow', defaultNumber: `+7495${s + 1}999999`, poolNumbers: numbers, leaseTtlSeconds: 3600 },
  });
  if (put.status !== 200) throw new Error(`site: ${JSON.stringify(put.body)}`);
}
for (const site of sites) {
  await waitFor(
    async () =>
      (await http('POST', `${tracker.url}/v1/sessions`, { body: { siteId: site, landingPage: 'https://bench.example/', userAgent: BROWSER } })).body
        ?.fallback === false,
    { what: `${site} ready`, timeoutMs: 60_000 },
  );
}

const bodies = sites.map((site) =>
  JSON.stringify({ siteId: site, landingPage: 'https://bench.example/?utm_source=google&utm_medium=cpc', userAgent: BROWSER }),
);
const loadgen = fileURLToPath(new URL('./load-generator.mjs', import.meta.url));
const load = (rate, duration) =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [loadgen], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`load generator exited ${code}`))));
    child.stdin.end(JSON.stringify({ url: `${tracker.url}/v1/sessions`, bodies, rate, seconds: duration }));
  });
// Warm-up (not reported): JIT compilation and connection set-up would otherwise land in the first rate's tail.
const warmup = await load(200, Number(process.env.BENCH_WARMUP_SECONDS ?? 5));
process.stdout.write(`warm-up: ${warmup.throughput.toFixed(0)} starts/s for ${process.env.BENCH_WARMUP_SECONDS ?? 5} s (not counted)\n`);
const rows = [];
for (const rate of rates) {
  const result = await load(rate, seconds);
  rows.push({ rate, ...result });
  process.stdout.write(
    `target ${rate}/s: ${result.throughput.toFixed(0)} starts/s, p50 ${result.p50} ms, p99 ${result.p99} ms, non-2xx ${result.non2xx}, ` +
      `errors ${result.errors}, default-number answers ${result.fallbacks}\n`,
  );
}

await stopAll();

// Invariant over the whole run, from number-pool's own event log: no number granted
// while a live lease held it, no request answered twice.
const ledger = new LeaseLedger();
await replayTopics(kafka, settings, logger, ['poolEvents'], (r) => ledger.apply(r.event));
process.stdout.write(
  `\ninvariant: ${ledger.grants} leases granted over ${siteCount} sites, ` +
    `${ledger.violations.length} violations (numbers leased to two live sessions or requests answered twice)\n`,
);
for (const v of ledger.violations.slice(0, 10)) process.stdout.write(`  ${v}\n`);
process.stdout.write(
  `machine: ${(await import('node:os')).cpus().length} cores, node ${process.version}; services and broker on this machine, ` +
    `load generator in its own process\n`,
);
process.exit(ledger.violations.length === 0 ? 0 : 1);
