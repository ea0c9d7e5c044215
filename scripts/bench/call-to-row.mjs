// The delay from a call's end to its final row in ClickHouse, at a steady rate. Starts the
// services as processes on their own topic prefix, makes a site's visits through the
// session API, then reports calls to the held numbers through the signed generic webhook
// at BENCH_RATE calls per second for BENCH_SECONDS: ringing, answered 200 ms later, the end
// 300 ms after that. For every call it measures, from the moment the end webhook is sent:
//   - announced: attribution's CallAttributed for the final report arrives (it is
//     published after the row and its credits were inserted);
//   - visible over REST: GET /v1/sites/:site/calls/:id answers with is_final (asked as soon
//     as the announcement arrives, then every 20 ms).
// Prints p50/p90/p99/max; asserts nothing.
//   BENCH_RATE (20)  BENCH_SECONDS (60)  BENCH_SESSIONS (100)
import { cpus, loadavg } from 'node:os';
import { http, signGenericWebhook, sleep, waitFor } from '@calltrack/testing';
import { cpuSeconds, percentile, pidOf, siteWithLiveVisits, startBenchPlatform, watchAttributed } from '../simulate/bench-support.mjs';

const RATE = Number(process.env.BENCH_RATE ?? 20);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 60);
const SESSIONS = Number(process.env.BENCH_SESSIONS ?? 100);
if (!(RATE > 0 && RATE <= 2000)) throw new Error('BENCH_RATE must be 0 < rate ≤ 2000 calls/s');
if (!(SECONDS > 0 && SECONDS <= 3600)) throw new Error('BENCH_SECONDS must be 0 < seconds ≤ 3600');
if (!Number.isInteger(SESSIONS) || SESSIONS < 1 || SESSIONS > 9999) throw new Error('BENCH_SESSIONS must be 1..9999');
const log = (s = '') => process.stdout.write(`${s}\n`);

const { platform, runId } = await startBenchPlatform('call-to-row');
const SITE = `bench-c2r-${runId}`;
const secret = `bench-secret-${runId}-0123456789abcdef`;
const webhook = `${platform.url('telephony-ingest')}/v1/webhooks/generic/${SITE}`;
const admin = `${platform.url('attribution')}/v1/sites/${SITE}/calls/`;
const failures = {};
const post = async (body) => {
  const raw = JSON.stringify(body);
  const r = await http('POST', webhook, { rawBody: raw, headers: signGenericWebhook(secret, raw) });
  if (r.status !== 202) failures[r.status] = (failures[r.status] ?? 0) + 1;
};

try {
  log(`call end → ClickHouse row: ${RATE} calls/s for ${SECONDS} s through the generic webhook, ${SESSIONS} live visits`);
  const visits = await siteWithLiveVisits(platform, { siteId: SITE, sessions: SESSIONS, webhookSecret: secret });
  const watcher = await watchAttributed(platform, `c2r-${runId}`);
  const calls = new Map(); // platform call id -> { endSentAt, announcedAt, visibleAt }
  const checks = [];
  // As soon as attribution announces a final row, check that REST shows it.
  watcher.onFinal((callId, at) => {
    const call = calls.get(callId);
    if (!call) return;
    call.announcedAt = at;
    checks.push(
      waitFor(
        async () => {
          const r = await http('GET', `${admin}${encodeURIComponent(callId)}`, { headers: platform.auth });
          if (r.status === 200 && r.body.is_final) return (call.visibleAt = Date.now());
          return undefined;
        },
        { what: `${callId} final over REST`, timeoutMs: 60_000, intervalMs: 20 },
      ).catch(() => undefined),
    );
  });
  await sleep(2000);
  const cpu0 = cpuSeconds(pidOf(platform, 'attribution'));
  const t0 = Date.now();
  const total = Math.round(RATE * SECONDS);
  const flows = [];
  for (let i = 0; i < total; i += 1) {
    const due = t0 + (i * 1000) / RATE;
    if (due > Date.now()) await sleep(due - Date.now());
    const visit = visits[i % visits.length];
    const id = `${runId}-${i}`;
    const callId = `generic:${id}`;
    const base = { callId: id, trackingNumber: visit.number, callerNumber: `+7916${String(4_000_000 + i).padStart(7, '0')}` };
    flows.push(
      (async () => {
        const startedAt = Date.now();
        await post({ ...base, status: 'ringing', startedAt });
        await sleep(200);
        const answeredAt = Date.now();
        await post({ ...base, status: 'answered', startedAt, answeredAt });
        await sleep(300);
        const call = { endSentAt: Date.now() };
        calls.set(callId, call);
        await post({ ...base, status: 'completed', startedAt, answeredAt, endedAt: call.endSentAt });
      })(),
    );
  }
  await Promise.all(flows);
  const sent = Date.now();
  await waitFor(() => [...calls.values()].every((c) => c.announcedAt), { what: 'every call announced', timeoutMs: 300_000, intervalMs: 200 }).catch((err) =>
    log(String(err)),
  );
  await Promise.all(checks);
  const cpu1 = cpuSeconds(pidOf(platform, 'attribution'));
  await watcher.stop();

  const announced = [...calls.values()]
    .filter((c) => c.announcedAt)
    .map((c) => c.announcedAt - c.endSentAt)
    .sort((a, b) => a - b);
  const visible = [...calls.values()]
    .filter((c) => c.visibleAt)
    .map((c) => c.visibleAt - c.endSentAt)
    .sort((a, b) => a - b);
  const fmt = (xs) => `p50 ${percentile(xs, 50)} ms, p90 ${percentile(xs, 90)} ms, p99 ${percentile(xs, 99)} ms, max ${xs.at(-1)} ms (${xs.length} calls)`;
  log('');
  log(`calls sent: ${total} at ${(total / ((sent - t0) / 1000)).toFixed(1)}/s; webhook refusals: ${JSON.stringify(failures)}`);
  log(`end webhook → final row announced (CallAttributed): ${fmt(announced)}`);
  log(`end webhook → final row visible over REST:          ${fmt(visible)}`);
  log(
    `attribution CPU: ${((cpu1 - cpu0) / ((Date.now() - t0) / 1000)).toFixed(2)} cores on average; machine: ${cpus().length} cores, load ${loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')}`,
  );
} finally {
  await platform.stop();
}
process.exit(0);
