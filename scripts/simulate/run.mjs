// The call-tracking simulator (docs/simulator.md): generates several days of realistic
// traffic from a seed, plays it in compressed real time through the real services (the
// session API for visits, the signed generic telephony webhook for calls) on one site per
// pool size — every site gets exactly the same visitors and calls — then reads
// attribution's results back over REST and prints how many calls were matched to the
// right visit and the right channel, per pool size.
//
//   npm run simulate                                   # 2 days, pools 2,5,10,20,40, ~11 min
//   node scripts/simulate/run.mjs --days 1 --pools 1,20 --visits-per-day 200
//
// Options (flag or environment variable):
//   --days SIM_DAYS (2)  --visits-per-day SIM_VISITS_PER_DAY (800)  --pools SIM_POOLS (2,5,10,20,40)
//   --compression SIM_COMPRESSION (300: 1 simulated hour = 12 s)  --seed SIM_SEED (1)  --start-hour SIM_START_HOUR (0)
//   --lease-tail-minutes SIM_LEASE_TAIL_MINUTES (15)  --grace-minutes SIM_GRACE_MINUTES (10)
//   --lease-reply-seconds SIM_LEASE_REPLY_SECONDS (15: how long a session start waits for number-pool; real time, not scaled)
//   --json (last line of output: the result as JSON)
//   KAFKA_BROKERS (127.0.0.1:9092), SIM_TOPIC_PREFIX (sim.<run id>.), SIM_PORT_BASE (18180) or SIM_PORTS,
//   SIM_OUT_DIR (.cache/simulate), SIM_DATA_DIR (/tmp/calltrack-sim-<run id>), SIM_SERVICE_LOG_LEVEL (warn)
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { SiteDriver, playAll } from './driver.mjs';
import { newRunId, Platform, servicePorts } from './platform.mjs';
import { fetchAttributed, formatReportCheck, formatTable, poolNeeded, reportsAgainstTruth, scoreSite } from './report.mjs';
import { concurrency, generateTraffic, SIM_HOUR, SIM_MINUTE } from './traffic.mjs';

const { values: args } = parseArgs({
  options: {
    days: { type: 'string' },
    'visits-per-day': { type: 'string' },
    pools: { type: 'string' },
    compression: { type: 'string' },
    seed: { type: 'string' },
    'start-hour': { type: 'string' },
    'lease-tail-minutes': { type: 'string' },
    'grace-minutes': { type: 'string' },
    'lease-reply-seconds': { type: 'string' },
    json: { type: 'boolean', default: false },
  },
  strict: true,
});

function numberOption(flag, envName, fallback, { min, max, integer = false }) {
  const raw = args[flag] ?? process.env[envName];
  const value = raw === undefined ? fallback : Number(raw);
  if (!Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
    throw new Error(`--${flag} / ${envName} must be ${integer ? 'a whole number' : 'a number'} from ${min} to ${max}, got ${raw}`);
  }
  return value;
}

const days = numberOption('days', 'SIM_DAYS', 2, { min: 0.01, max: 60 });
const visitsPerDay = numberOption('visits-per-day', 'SIM_VISITS_PER_DAY', 800, { min: 1, max: 1_000_000 });
const compression = numberOption('compression', 'SIM_COMPRESSION', 300, { min: 1, max: 3600 });
const startHour = numberOption('start-hour', 'SIM_START_HOUR', 0, { min: 0, max: 23, integer: true });
const seed = String(args.seed ?? process.env.SIM_SEED ?? '1');
const leaseTailMinutes = numberOption('lease-tail-minutes', 'SIM_LEASE_TAIL_MINUTES', 15, { min: 1, max: 1440 });
const graceMinutes = numberOption('grace-minutes', 'SIM_GRACE_MINUTES', 10, { min: 0, max: 1440 });
// The simulation measures what the pool size does to attribution. session-tracker shows the
// default number when number-pool's answer takes longer than LEASE_REPLY_TIMEOUT_MS (1.5 s, a
// real visitor's patience): on a busy machine the Kafka round trip alone takes that long, and an
// ample pool then showed the default number to a third of the visitors. That is the machine's
// speed, not the pool's size: the simulated visitor waits for the answer (counted as
// pool_timeout only when number-pool really does not answer).
const leaseReplySeconds = numberOption('lease-reply-seconds', 'SIM_LEASE_REPLY_SECONDS', 15, { min: 0.05, max: 30 });
const pools = String(args.pools ?? process.env.SIM_POOLS ?? '2,5,10,20,40')
  .split(',')
  .map((p) => Number(p.trim()));
if (pools.length === 0 || pools.length > 10 || pools.some((p) => !Number.isInteger(p) || p < 1 || p > 9999) || new Set(pools).size !== pools.length) {
  throw new Error('--pools / SIM_POOLS must be 1 to 10 distinct whole numbers from 1 to 9999, e.g. 2,5,10,20,40');
}

// Scaling (docs/simulator.md): every duration the services measure on the wall clock is
// divided by the compression factor. The lease tail is whole seconds.
const leaseTtlSeconds = Math.max(1, Math.round((leaseTailMinutes * 60) / compression));
const graceSeconds = Math.round((graceMinutes * 60) / compression);
// The tracker beats every 60 s; number-pool ignores a beat that moves the tail by less than a second.
const heartbeatRealMs = Math.max(1050, 60_000 / compression);
const effectiveTailSimMs = leaseTtlSeconds * 1000 * compression;

const runId = newRunId();
const log = (s = '') => process.stdout.write(`${s}\n`);
const ROOT = resolve(import.meta.dirname, '../..');
process.env.SERVICE_LOG_DIR ??= join(ROOT, '.cache/simulate/logs', runId);

const plan = generateTraffic(seed, { days, visitsPerDay, startHour });
const humans = plan.visits.filter((v) => !v.bot).length;
const load = concurrency(plan, effectiveTailSimMs);
log(
  `simulator run ${runId}: seed ${seed}, ${days} day(s), ${plan.people.length} people, ` +
    `${humans} human + ${plan.visits.length - humans} bot visits, ${plan.calls.length} calls per site`,
);
log(
  `time: 1 simulated hour = ${(SIM_HOUR / compression / 1000).toFixed(1)} s (compression ${compression}); lease tail ${leaseTtlSeconds} s real = ` +
    `${(effectiveTailSimMs / SIM_MINUTE).toFixed(1)} simulated min; grace ${graceSeconds} s real`,
);
log(
  `visitors holding or wanting a number at once: mean ${load.mean.toFixed(1)}, peak ${load.peak}; pools ${pools.join(', ')}; about ` +
    `${((plan.endMs - plan.startMs) / compression / 60_000).toFixed(1)} min of real time`,
);

const adminToken = `sim-admin-${runId}-0123456789`;
const webhookSecret = `sim-webhook-secret-${runId}-0123456789abcdef`;
const platform = new Platform({
  brokers: process.env.KAFKA_BROKERS ?? '127.0.0.1:9092',
  prefix: process.env.SIM_TOPIC_PREFIX ?? `sim.${runId}.`,
  adminToken,
  dataDir: process.env.SIM_DATA_DIR ?? `/tmp/calltrack-sim-${runId}`,
  ports: servicePorts(),
  logLevel: process.env.SIM_SERVICE_LOG_LEVEL ?? 'warn',
  serviceEnv: {
    'number-pool': { EXPIRY_SWEEP_INTERVAL_MS: String(Math.max(50, Math.min(1000, Math.round(heartbeatRealMs / 10)))) },
    'session-tracker': { LEASE_REPLY_TIMEOUT_MS: String(Math.round(leaseReplySeconds * 1000)) },
    attribution: { ATTRIBUTION_GRACE_SECONDS: String(graceSeconds), ATTRIBUTION_MARKOV_REFRESH_MINUTES: '0' },
  },
});

let stopping = false;
async function shutdown(code) {
  if (stopping) return;
  stopping = true;
  await platform.stop().catch(() => undefined);
  process.exit(code);
}
process.on('SIGINT', () => void shutdown(130));
process.on('SIGTERM', () => void shutdown(143));

try {
  log('starting number-pool, session-tracker, telephony-ingest, antifraud and attribution...');
  await platform.start();
  const sites = pools.map((poolSize, k) => {
    const prefix = `+7495${100 + k}`;
    return {
      siteId: `sim-${runId}-pool${poolSize}`,
      poolSize,
      defaultNumber: `${prefix}0000`,
      poolNumbers: Array.from({ length: poolSize }, (_, i) => `${prefix}${String(i + 1).padStart(4, '0')}`),
    };
  });
  for (const site of sites) await platform.configureSite({ ...site, leaseTtlSeconds, webhookSecret });
  log(`configured ${sites.length} sites; playing the traffic...`);

  const drivers = sites.map(
    (site) =>
      new SiteDriver({
        site,
        plan,
        urls: { tracker: platform.url('session-tracker'), telephony: platform.url('telephony-ingest') },
        compression,
        heartbeatRealMs,
        webhookSecret,
      }),
  );
  const played = await playAll(drivers, {
    compression,
    startMs: plan.startMs,
    onProgress: (simAt, running) =>
      log(
        `  day ${Math.floor(simAt / (24 * SIM_HOUR)) + 1} ${String(Math.floor((simAt % (24 * SIM_HOUR)) / SIM_HOUR)).padStart(2, '0')}:00 — ` +
          `${running} requests in flight`,
      ),
  });
  log(`played in ${((played.realEnd - played.realStart) / 1000).toFixed(0)} s; reading attribution's results...`);

  const results = [];
  for (const [k, site] of sites.entries()) {
    const driver = drivers[k];
    const { rows, missing } = await fetchAttributed({
      attributionUrl: platform.url('attribution'),
      auth: platform.auth,
      siteId: site.siteId,
      calls: driver.calls,
    });
    const pool = await platform.poolStats(site.siteId);
    const c = driver.counters;
    results.push({
      siteId: site.siteId,
      poolSize: site.poolSize,
      score: scoreSite(driver, rows),
      notFinal: missing.length,
      concurrentPerNumber: { mean: load.mean / site.poolSize, peak: load.peak / site.poolSize },
      pool: pool && {
        peakDemand: pool.peakDemand,
        shortages: pool.shortages,
        granted: pool.granted,
        recommendedPoolSize: pool.recommendedPoolSize,
        callsByNumberState: pool.callsByNumberState,
      },
      counters: {
        sessions: c.sessions,
        fallbacks: c.fallbacks,
        heartbeats: c.heartbeats,
        webhooks: c.webhooks,
        retries: c.retries,
        retriesBy: c.retriesBy,
        retrySamples: c.retrySamples,
        errors: c.errors,
        errorSamples: c.errorSamples,
        callsNotPlaced: driver.calls.filter((x) => !x.placed).length,
      },
    });
  }
  const lateStarts = drivers[0].counters.lateStartsMs;
  const needed = poolNeeded(results);
  const table = formatTable(results, needed);
  log('');
  log(table);
  log('');
  for (const r of results) {
    log(
      `pool ${r.poolSize}: methods ${JSON.stringify(r.score.methods)}; fallbacks ${JSON.stringify(r.counters.fallbacks)}; ` +
        `errors ${JSON.stringify(r.counters.errors)}${r.notFinal ? `; ${r.notFinal} calls not final` : ''}`,
    );
  }
  // The reports answer on the simulated data; by channel they are compared with the truth, on the smallest and the largest pool.
  const reportChecks = [];
  for (const k of [...new Set([0, sites.length - 1])]) {
    const check = await reportsAgainstTruth({
      attributionUrl: platform.url('attribution'),
      auth: platform.auth,
      siteId: sites[k].siteId,
      driver: drivers[k],
      fromMs: played.realStart - 3_600_000,
      toMs: Date.now() + 60_000,
    });
    reportChecks.push({ siteId: sites[k].siteId, poolSize: sites[k].poolSize, ...check });
    log('');
    log(formatReportCheck(sites[k].siteId, sites[k].poolSize, check));
  }
  if (lateStarts.length > 0)
    log(
      `scheduler: ${lateStarts.length} actions started more than 250 ms late (max ${Math.max(...lateStarts).toFixed(0)} ms): ` +
        `the machine could not keep up with this compression`,
    );

  const summary = {
    runId,
    startedAt: new Date(played.realStart).toISOString(),
    config: {
      seed,
      days,
      startHour,
      visitsPerDay,
      pools,
      compression,
      leaseTailMinutes,
      graceMinutes,
      leaseTtlSecondsReal: leaseTtlSeconds,
      graceSecondsReal: graceSeconds,
      heartbeatRealMs,
      leaseReplySeconds,
    },
    traffic: { people: plan.people.length, humanVisits: humans, botVisits: plan.visits.length - humans, calls: plan.calls.length, concurrentVisitors: load },
    realSeconds: (played.realEnd - played.realStart) / 1000,
    lateActions: lateStarts.length,
    results,
    poolFor99: needed,
    table,
    reports: reportChecks,
  };
  const outDir = process.env.SIM_OUT_DIR ?? join(ROOT, '.cache/simulate');
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, `${new Date().toISOString().replaceAll(':', '-')}.json`);
  writeFileSync(file, `${JSON.stringify(summary, null, 2)}\n`);
  log(`written to ${file}`);
  if (args.json) log(JSON.stringify(summary));
  await shutdown(0);
} catch (err) {
  log(`simulation failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  await shutdown(1);
}
