// Time to ready of number-pool after a crash (SIGKILL), over a year of lease
// history, before snapshots (every start replays the whole pool-events log) and
// with them (the latest snapshot plus the records after it).
//
// A year at realistic traffic for one site with 50 numbers: BENCH_VISITS_PER_DAY
// (default 1,200) visits a day, each a LeaseGranted (or LeaseRejected), on average
// ~2 LeaseExtended (pages stay open 0-5 minutes, a heartbeat a minute, the close),
// a LeaseExpired, and a few calls: about 4 events a visit, ~1.7 million a year.
// Runs on a broker of its own (KAFKA_BROKERS, e.g. 127.0.0.1:19892) so a shared
// broker is not loaded with millions of records.
import { randomUUID } from 'node:crypto';
import { createEvent, siteKey } from '@calltrack/contracts';
import { createKafka, KafkaBus, provisionTopics } from '@calltrack/kafka';
import { createLogger } from '@calltrack/telemetry';
import { ServiceProcess, freePort, http, waitFor } from '@calltrack/testing';
import { PoolHistory } from '../../services/number-pool/dist/pool-history.js';

const DAY = 24 * 3600_000;
const days = Number(process.env.BENCH_DAYS ?? 365);
const visitsPerDay = Number(process.env.BENCH_VISITS_PER_DAY ?? 1200);
const poolSize = Number(process.env.BENCH_POOL_SIZE ?? 50);
const runs = Number(process.env.BENCH_RUNS ?? 3);
// Records published after the latest snapshot and before each kill (the tail a restart reads).
const tail = Number(process.env.BENCH_TAIL ?? 20_000);
const brokers = process.env.KAFKA_BROKERS ?? '127.0.0.1:9092';
// BENCH_REUSE_PREFIX: the topics of an earlier run with the same settings (its history is regenerated, not published again).
const reuse = process.env.BENCH_REUSE_PREFIX;
const prefix = reuse ?? `bench.recovery.${randomUUID().slice(0, 8)}.`;
const ADMIN_TOKEN = 'bench-admin-token-0123456789';
const SITE = 'bench-recovery';
const logger = createLogger('bench', 'warn');
const settings = { brokers: brokers.split(','), clientId: 'bench-recovery', prefix };
// Right after createTopics the broker may not list every new topic yet (issue 10, section 1): try again a few times.
for (let attempt = 1; ; attempt += 1) {
  try {
    await provisionTopics(createKafka(settings, logger), prefix, logger);
    break;
  } catch (err) {
    if (attempt >= 5) throw err;
    await new Promise((r) => setTimeout(r, 1000 * attempt));
  }
}
const bus = new KafkaBus(settings, logger);
await bus.connect();

const numbers = Array.from({ length: poolSize }, (_, i) => `+74957${String(i).padStart(6, '0')}`);
const config = { name: 'Recovery bench', country: 'RU', timeZone: 'Europe/Moscow', defaultNumber: '+74957999999', poolNumbers: numbers, leaseTtlSeconds: 900 };
if (!reuse) await bus.producer.publish('sites', siteKey(SITE), createEvent('SiteConfigured', config, { siteId: SITE, producer: 'bench' }));
const endOfYear = Number(process.env.BENCH_HISTORY_END_MS ?? Date.now() - 3600_000);
const history = new PoolHistory({ sites: [{ siteId: SITE, config }], startMs: endOfYear - days * DAY, visitEveryMs: DAY / visitsPerDay, seed: 2026 });

async function publishEvents(events) {
  for (let i = 0; i < events.length; i += 5000) {
    await bus.producer.publishMany(events.slice(i, i + 5000).map((event) => ({ topic: 'poolEvents', key: siteKey(event.siteId), event })));
  }
}

let published = 0;
const t0 = Date.now();
while (history.nowMs < endOfYear) {
  const chunk = [];
  while (chunk.length < 50_000 && history.nowMs < endOfYear) chunk.push(...history.next(1000));
  if (!reuse) await publishEvents(chunk);
  published += chunk.length;
  process.stderr.write(`\rpublished ${published.toLocaleString('en')} pool events (${Math.round((history.nowMs - (endOfYear - days * DAY)) / DAY)} days)`);
}
process.stderr.write('\n');
console.log(`topics ${prefix} (history end ${endOfYear}: BENCH_REUSE_PREFIX=${prefix} BENCH_HISTORY_END_MS=${endOfYear} reuses them)`);
console.log(
  `history: ${days} days × ${visitsPerDay} visits/day on ${poolSize} numbers = ${published.toLocaleString('en')} pool events ` +
    `(${(published / (days * visitsPerDay)).toFixed(2)} per visit), ${reuse ? 'regenerated (already on the topics)' : 'published'} in ` +
    `${((Date.now() - t0) / 1000).toFixed(0)} s`,
);

const env = { KAFKA_BROKERS: brokers, KAFKA_TOPIC_PREFIX: prefix, ADMIN_TOKEN, LOG_LEVEL: 'info', KAFKA_SESSION_TIMEOUT_MS: '6000' };
const READY_TIMEOUT_MS = 30 * 60_000;
let current;
process.on('uncaughtException', async (err) => {
  process.stderr.write(`${err.stack ?? err}\n`);
  await current?.kill();
  process.exit(1);
});
const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
const ownership = async (svc) => (await http('GET', `${svc.url}/v1/admin/ownership`, { headers: auth })).body;

/** Starts, kills and restarts number-pool `runs` times; returns the seconds from spawn to ready of each restart. */
async function measure(label, extraEnv, beforeKill) {
  const svc = new ServiceProcess('number-pool', await freePort(), { ...env, ...extraEnv });
  current = svc;
  const times = [];
  try {
    let started = Date.now();
    await svc.start(READY_TIMEOUT_MS);
    console.log(`${label}: first start ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    for (let run = 0; run < runs; run += 1) {
      await beforeKill(svc);
      await svc.kill();
      started = Date.now();
      await svc.start(READY_TIMEOUT_MS);
      const seconds = (Date.now() - started) / 1000;
      // Ready means the site's partition is rebuilt: say how.
      const own = await waitFor(
        async () => {
          const o = await ownership(svc);
          return o.restored.length > 0 && o.restoring.length === 0 ? o : undefined;
        },
        { what: 'ownership', timeoutMs: 600_000 },
      );
      const restored = own.restored.filter((r) => r.records > 1);
      times.push(seconds);
      const rebuiltFrom = restored.map((r) => `snapshot ${r.snapshotOffset ?? 'none'} + ${r.records} records`).join(', ') || 'its claim only';
      console.log(`${label}: run ${run + 1}: ready ${seconds.toFixed(1)} s after the kill (partition rebuilt from ${rebuiltFrom})`);
    }
  } finally {
    await svc.kill();
  }
  return times;
}

const summary = (times) => {
  const sorted = [...times].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  return `median ${median.toFixed(1)} s (min ${sorted[0].toFixed(1)}, max ${sorted[sorted.length - 1].toFixed(1)}, n=${sorted.length})`;
};

// Before: no snapshots (the behaviour before them), every start reads the whole log; the same tail before each kill.

const before = await measure('no snapshots', { POOL_SNAPSHOT_EVERY_RECORDS: '0', POOL_SNAPSHOT_INTERVAL_MS: '0' }, async () => {
  if (tail > 0) await publishEvents(history.next(tail));
});
// After: a snapshot is taken (by request, so each run has the same tail), a tail arrives, then the kill.
const after = await measure('snapshots', { POOL_SNAPSHOT_EVERY_RECORDS: '0', POOL_SNAPSHOT_INTERVAL_MS: '0' }, async (svc) => {
  const written = await http('POST', `${svc.url}/v1/admin/ownership/snapshots`, { headers: auth });
  if (written.status !== 200) throw new Error(`snapshot: ${written.status} ${JSON.stringify(written.body)}`);
  if (tail > 0) await publishEvents(history.next(tail));
});
console.log('');
console.log(
  `time to ready after SIGKILL, ${published.toLocaleString('en')} pool events (session timeout 6 s included: the killed member's partitions wait for it):`,
);
console.log(`  before snapshots (whole log):        ${summary(before)}`);
console.log(`  with snapshots (snapshot + ${tail.toLocaleString('en')}-record tail): ${summary(after)}`);
await bus.close();
