// How long a site's history takes to recompute (attribution replay), per million calls.
// Seeds one site's history straight into the embedded ClickHouse engine (visits, leases
// and calls as the consumers would have stored them: 3 visits per caller, a lease for
// the last one, static-number and default-number calls, repeat callers, missed calls
// and call-backs), starts attribution in this process, and times three recomputes
// through the admin API:
//   1. a settings change, on history stored before issue 4 (every call gets its
//      classification and credits: every row and 7 models' credits are written),
//   2. another settings change (time-decay half-life: every row moves to the new
//      revision, credits are rewritten),
//   3. a recompute without a change (everything read and evaluated, nothing written).
// Prints figures; asserts nothing.  BENCH_CALLS (default 200000) sets the size.
import { http, waitFor } from '@calltrack/testing';
import { startAttributionInProcess } from './attribution-in-process.mjs';

const CALLS = Number(process.env.BENCH_CALLS ?? 200_000);
const SITE = 'bench-replay';
const POOL = 500;
const DAY = 86_400_000;
const MIN = 60_000;
const iso = (ms) => new Date(ms).toISOString();

const pool = Array.from({ length: POOL }, (_, i) => `+7495${String(1_000_000 + i).slice(1)}`);
const STATIC = '+74957770000';
const DEFAULT = '+74950000000';
const { service, auth, clickhouse, stop } = await startAttributionInProcess({
  name: 'replay',
  siteId: SITE,
  site: {
    name: 'Bench',
    country: 'RU',
    timeZone: 'Europe/Moscow',
    defaultNumber: DEFAULT,
    poolNumbers: pool,
    staticNumbers: [{ number: STATIC, utmSource: 'billboard', utmMedium: 'offline' }],
  },
});
try {
  const ch = clickhouse();

  // ---- seed: calls evenly over 90 days; a number comes back to the pool long after its lease ended ----
  const seedStart = Date.now();
  const T0 = Date.now() - 95 * DAY;
  const spacing = (90 * DAY) / CALLS;
  const channels = [
    ['paid_search', 'google', 'cpc'],
    ['organic_search', 'google', 'organic'],
    ['paid_social', 'vk', 'paid_social'],
    ['email', 'newsletter', 'email'],
    ['direct', '', ''],
    ['referral', 'partner.example', 'referral'],
  ];
  const visitRow = (session, visitor, at, c) => ({
    event_id: `v:${session}`,
    site_id: SITE,
    session_id: session,
    visitor_id: visitor,
    started_at: iso(at),
    channel: c[0],
    utm_source: c[1],
    utm_medium: c[2],
    utm_campaign: '',
    utm_content: '',
    utm_term: '',
    referrer: '',
    landing_page: 'https://bench.example/',
    user_agent: 'Mozilla/5.0',
    client_ip: '',
    click_ids: {},
    ga_client_id: '',
    ym_uid: '',
    fbp: '',
    fbc: '',
    tracking_number: '',
    lease_id: '',
    is_bot: 0,
  });
  const callRow = (i, at, o) => ({
    event_id: `seed-${i}:attributed`,
    site_id: SITE,
    call_id: `bench:${i}`,
    provider: 'bench',
    provider_call_id: String(i),
    tracking_number: o.to,
    caller_number: o.from,
    called_number: o.calledNumber ?? '',
    direction: o.direction ?? 'inbound',
    status: o.missed ? 'missed' : 'completed',
    started_at: iso(at),
    answered_at: o.missed ? null : iso(at + 5_000),
    ended_at: iso(at + (o.missed ? 20_000 : 5_000 + (i % 240) * 1000)),
    talk_seconds: o.missed ? 0 : i % 240,
    wait_seconds: o.missed ? 20 : 5,
    recording_url: '',
    verdict: 'clean',
    verdict_reason: '',
    match_method: o.method,
    match_reason: '',
    channel: '',
    session_id: o.session ?? '',
    visitor_id: o.visitor ?? '',
    lease_id: o.lease ?? '',
    utm_source: '',
    utm_medium: '',
    utm_campaign: '',
    utm_content: '',
    utm_term: '',
    referrer: '',
    landing_page: '',
    click_ids: {},
    is_final: 1,
    version: 51,
  });
  let visits = [];
  let leases = [];
  let calls = [];
  const counts = { visits: 0, leases: 0, calls: 0 };
  const flush = async (force) => {
    const write = async (table, rows) => {
      if (rows.length > 0 && (force || rows.length >= 50_000)) {
        await ch.insertJsonEachRow(table, rows, { dedupToken: `seed:${table}:${counts[table]}` });
        counts[table] += rows.length;
        return [];
      }
      return rows;
    };
    visits = await write('visits', visits);
    leases = await write('leases', leases);
    calls = await write('calls', calls);
  };
  for (let i = 0; i < CALLS; i += 1) {
    const at = T0 + Math.floor(i * spacing);
    // One caller in five calls again (a repeat caller: same phone, the earlier call's visitor).
    const person = i % 5 === 4 && i >= 5 ? i - 4 : i;
    const from = `+7916${String(10_000_000 + person).slice(1)}`;
    const visitor = `bv${person}`;
    const kind = i % 10;
    if (i % 20 === 7) {
      // A call-back of the previous (missed) call's caller, placed by the site.
      calls.push(callRow(i, at, { to: '', from: '', calledNumber: `+7916${String(10_000_000 + i - 1).slice(1)}`, direction: 'outbound', method: 'unmatched' }));
    } else if (kind < 7 && person === i) {
      const session = `bs${i}`;
      const lease = `bl${i}`;
      const number = pool[i % POOL];
      visits.push(visitRow(`${session}a`, visitor, at - 10 * DAY, channels[i % channels.length]));
      visits.push(visitRow(`${session}b`, visitor, at - 3 * DAY, channels[(i + 1) % channels.length]));
      visits.push(visitRow(session, visitor, at - 5 * MIN, channels[(i + 2) % channels.length]));
      leases.push({
        event_id: `l:${lease}`,
        site_id: SITE,
        lease_id: lease,
        session_id: session,
        visitor_id: visitor,
        tracking_number: number,
        granted_at: iso(at - 5 * MIN),
        expires_at: iso(at + 10 * MIN),
        released_at: iso(at + 10 * MIN),
        version: 2 ** 52,
        promo_code: '',
      });
      calls.push(callRow(i, at, { to: number, from, method: 'dynamic', session, visitor, lease, missed: i % 20 === 6 }));
    } else if (kind === 7) {
      calls.push(callRow(i, at, { to: STATIC, from, method: 'static', missed: i % 20 === 6 }));
    } else {
      calls.push(callRow(i, at, { to: DEFAULT, from, method: 'unmatched', missed: i % 20 === 6 }));
    }
    await flush(false);
  }
  await flush(true);
  process.stdout.write(`seeded ${counts.calls} calls, ${counts.visits} visits, ${counts.leases} leases in ${((Date.now() - seedStart) / 1000).toFixed(1)} s\n`);
  await ch.close();

  const run = async (label, start) => {
    const began = Date.now();
    const job = await start();
    const done = await waitFor(
      async () => {
        const r = await http('GET', `${service.url}/v1/admin/sites/${SITE}/attribution/recompute/${job.jobId}`, { headers: auth });
        return r.body?.status && r.body.status !== 'running' ? r.body : undefined;
      },
      { what: label, timeoutMs: 4 * 3600_000, intervalMs: 500 },
    );
    const seconds = (Date.now() - began) / 1000;
    process.stdout.write(
      `${label}: ${done.status}, ${done.calls} calls in ${seconds.toFixed(1)} s = ${(done.calls / seconds).toFixed(0)} calls/s, ` +
        `${((seconds * 1_000_000) / Math.max(1, done.calls) / 60).toFixed(1)} min per million calls; ` +
        `${done.changedCalls} rows and ${done.creditRows} credit rows written\n`,
    );
  };
  const put = (body) => async () => (await http('PUT', `${service.url}/v1/admin/sites/${SITE}/attribution-settings`, { headers: auth, body })).body.recompute;
  await run('1. settings change on history stored before issue 4', put({ lookbackDays: 30 }));
  await run('2. settings change (time-decay half-life)', put({ lookbackDays: 30, timeDecayHalfLifeDays: 3 }));
  await run(
    '3. recompute without a change',
    async () => (await http('POST', `${service.url}/v1/admin/sites/${SITE}/attribution/recompute`, { headers: auth })).body,
  );
} finally {
  await stop();
}
