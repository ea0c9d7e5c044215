// Attribution throughput: calls per second from the calls topic to their final rows in
// ClickHouse. Starts the services as processes on their own topic prefix, makes a site's
// visits through the session API (each holds a pool number: the real path of sessions,
// leases and visits into attribution), then publishes BENCH_CALLS final CallReported
// events straight onto the calls topic (the event codec, as telephony-ingest would) and
// times them until attribution has announced every final row (CallAttributed follows the
// insert) and its channel report counts them all. Prints figures; asserts nothing.
//   BENCH_CALLS (20000)  BENCH_SESSIONS (200: numbers held, calls spread over them)
//   BENCH_INPUT=calls (default: antifraud screens, then attribution) | screened (straight
//   onto screened-calls: attribution alone)
import { readdirSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { calltrack, callKey, createEvent } from '@calltrack/contracts';
import { sleep, waitFor } from '@calltrack/testing';
import { cpuSeconds, pidOf, siteWithLiveVisits, startBenchPlatform, storedCalls, watchAttributed } from '../simulate/bench-support.mjs';

const CALLS = Number(process.env.BENCH_CALLS ?? 20_000);
const SESSIONS = Number(process.env.BENCH_SESSIONS ?? 200);
const INPUT = process.env.BENCH_INPUT ?? 'calls';
if (!Number.isInteger(CALLS) || CALLS < 1) throw new Error('BENCH_CALLS must be a positive whole number');
if (!Number.isInteger(SESSIONS) || SESSIONS < 1 || SESSIONS > 9999) throw new Error('BENCH_SESSIONS must be 1..9999');
if (!['calls', 'screened'].includes(INPUT)) throw new Error('BENCH_INPUT must be calls or screened');
const { CallDirection, CallStatus, MatchMethod, Verdict } = calltrack.events.v1;
const log = (s = '') => process.stdout.write(`${s}\n`);

const { platform, runId } = await startBenchPlatform('throughput');
const SITE = `bench-tp-${runId}`;
try {
  log(
    `attribution throughput: ${CALLS} calls onto ` +
      `${INPUT === 'calls' ? 'the calls topic (antifraud → attribution)' : 'screened-calls (attribution alone)'}, ${SESSIONS} live visits`,
  );
  const visits = await siteWithLiveVisits(platform, { siteId: SITE, sessions: SESSIONS, webhookSecret: `bench-secret-${runId}-0123456789abcdef` });
  const watcher = await watchAttributed(platform, `tp-${runId}`);
  await sleep(2000);

  const t0 = Date.now();
  const cpu0 = { attribution: cpuSeconds(pidOf(platform, 'attribution')), antifraud: cpuSeconds(pidOf(platform, 'antifraud')) };
  const ids = new Set();
  const BATCH = 500;
  for (let start = 0; start < CALLS; start += BATCH) {
    const records = [];
    for (let i = start; i < Math.min(CALLS, start + BATCH); i += 1) {
      const visit = visits[i % visits.length];
      const callId = `bench:${runId}-${i}`;
      ids.add(callId);
      // One caller in five calls again (repeat-caller lookups); one call in seven is missed.
      const caller = `+7916${String(3_000_000 + (i % 5 === 4 ? i - 4 : i)).padStart(7, '0')}`;
      const missed = i % 7 === 3;
      const startedAtMs = t0 - 1000 + (i % 1000);
      const call = {
        callId,
        provider: 'bench',
        providerCallId: `${runId}-${i}`,
        trackingNumber: visit.number,
        callerNumber: caller,
        direction: CallDirection.CALL_DIRECTION_INBOUND,
        status: missed ? CallStatus.CALL_STATUS_MISSED : CallStatus.CALL_STATUS_COMPLETED,
        startedAtMs,
        answeredAtMs: missed ? 0 : startedAtMs + 100,
        endedAtMs: startedAtMs + 900,
        sequence: 3,
      };
      records.push(
        INPUT === 'calls'
          ? { topic: 'calls', key: callKey(SITE, callId), event: createEvent('CallReported', call, { siteId: SITE, producer: 'bench' }) }
          : {
              topic: 'screenedCalls',
              key: callKey(SITE, callId),
              event: createEvent('CallScreened', { call, verdict: Verdict.VERDICT_CLEAN }, { siteId: SITE, producer: 'bench' }),
            },
      );
    }
    await platform.bus.producer.publishMany(records);
  }
  const published = Date.now();
  log(`published ${CALLS} events in ${((published - t0) / 1000).toFixed(1)} s (${Math.round(CALLS / ((published - t0) / 1000))}/s)`);

  let lastLog = Date.now();
  await waitFor(
    () => {
      const done = [...ids].filter((id) => watcher.finals.has(id)).length;
      if (Date.now() - lastLog > 10_000) {
        lastLog = Date.now();
        log(`  ${done} of ${CALLS} attributed after ${((Date.now() - t0) / 1000).toFixed(0)} s`);
      }
      return done === CALLS;
    },
    { what: 'every call attributed', timeoutMs: Math.max(600_000, CALLS * 100), intervalMs: 200 },
  );
  const last = Math.max(...[...ids].map((id) => watcher.finals.get(id).at));
  const cpu1 = { attribution: cpuSeconds(pidOf(platform, 'attribution')), antifraud: cpuSeconds(pidOf(platform, 'antifraud')) };
  const seconds = (last - t0) / 1000;
  const stored = await waitFor(
    async () => {
      const n = await storedCalls(platform, SITE);
      return n >= CALLS ? n : undefined;
    },
    { what: 'the rows counted by the channel report', timeoutMs: 60_000, intervalMs: 500 },
  );
  const methods = {};
  for (const id of ids) {
    const m = MatchMethod[watcher.finals.get(id).method] ?? String(watcher.finals.get(id).method);
    methods[m] = (methods[m] ?? 0) + 1;
  }
  await watcher.stop();
  log('');
  log(
    `attribution throughput: ${Math.round(CALLS / seconds)} calls/s (${CALLS} calls, first publish → last final row ${seconds.toFixed(1)} s; ` +
      `${stored} rows in the channel report)`,
  );
  log(`match methods: ${JSON.stringify(methods)}`);
  // Throughput per fifth of the backlog (in the order the final rows were announced): a rate that
  // falls from the first fifth to the last grows with the history already stored.
  const times = [...ids].map((id) => watcher.finals.get(id).at).sort((a, b) => a - b);
  const fifths = [];
  let from = t0;
  for (let k = 1; k <= 5; k += 1) {
    const n = Math.floor((CALLS * k) / 5) - Math.floor((CALLS * (k - 1)) / 5);
    const to = times[Math.floor((CALLS * k) / 5) - 1];
    fifths.push(n > 0 ? Math.round(n / Math.max(0.001, (to - from) / 1000)) : 0);
    from = to;
  }
  log(`calls/s per fifth of the backlog: ${fifths.join(' → ')}`);
  log(`attribution log: ${groupTrouble(process.env.SERVICE_LOG_DIR)}`);
  const used = (k) => (cpu1[k] - cpu0[k]).toFixed(1);
  log(
    `CPU used: attribution ${used('attribution')} s (${((cpu1.attribution - cpu0.attribution) / seconds).toFixed(2)} cores), ` +
      `antifraud ${used('antifraud')} s; machine: ${cpus().length} cores, load ${loadavg()
        .map((x) => x.toFixed(1))
        .join(' ')}`,
  );
} finally {
  await platform.stop();
}
process.exit(0);

/** Lines of attribution's log that tell of the group losing this member (evictions, rebalances, overran handlers). */
function groupTrouble(dir) {
  const counts = { evicted: 0, rebalancing: 0, overran: 0 };
  for (const file of readdirSync(dir).filter((f) => f.startsWith('attribution'))) {
    for (const line of readFileSync(join(dir, file), 'utf8').split('\n')) {
      if (/not aware of this member|UNKNOWN_MEMBER_ID|ILLEGAL_GENERATION/.test(line)) counts.evicted += 1;
      else if (/rebalanc/i.test(line)) counts.rebalancing += 1;
      if (line.includes('kafka_handler_overran')) counts.overran += 1;
    }
  }
  return `${counts.evicted} eviction lines, ${counts.rebalancing} rebalance lines, ${counts.overran} overran handlers (${dir})`;
}
