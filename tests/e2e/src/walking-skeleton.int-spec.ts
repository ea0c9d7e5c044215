// The walking skeleton, end to end on the real broker and the real ClickHouse engine in
// server mode, as in production: every service is a process of its own, and two attribution
// replicas share one engine over the ClickHouse HTTP interface (CLICKHOUSE_URL; the test
// server serves it from the engine of this test process, which reads the same rows). A visit
// gets a number; a signed webhook reports a call to it; the call is attributed to the visit's
// UTM source in ClickHouse and exported exactly once; a blocked caller's call is marked spam
// and not exported; number-pool killed in the middle comes back with its live leases.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { createClickHouse } from '@calltrack/clickhouse';
import {
  ConversionReceiver,
  createKafkaTestEnv,
  freePort,
  http,
  ServiceProcess,
  signGenericWebhook,
  sleep,
  startClickHouseHttpServer,
  waitFor,
  type ClickHouseHttpServer,
  type KafkaTestEnv,
} from '@calltrack/testing';

process.env['CLICKHOUSE_DATA_DIR'] ??= mkdtempSync(join(tmpdir(), 'calltrack-chdb-'));
const CLICKHOUSE_USER = 'calltrack';
const CLICKHOUSE_PASSWORD = 'e2e-clickhouse-password';

const ADMIN = 'e2e-admin-token-0123456789';
const auth = { authorization: `Bearer ${ADMIN}` };
const SITE = 'e2e-shop';
const WEBHOOK_SECRET = 'whsec-e2e-0123456789abcdef0123456789abcdef';
const EXPORT_SECRET = 'export-secret-0123456789abcdef';

const execFileAsync = promisify(execFile);
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

describe('walking skeleton: visit → number → call → attribution → export', () => {
  let env: KafkaTestEnv;
  let receiver: ConversionReceiver;
  let clickhouse: ClickHouseHttpServer;
  const database = `e2e_${randomUUID().slice(0, 8)}`;
  const procs: Record<string, ServiceProcess> = {};
  let attribution: ServiceProcess;
  let attributionReplica: ServiceProcess;

  before(async () => {
    env = await createKafkaTestEnv('e2e');
    receiver = await new ConversionReceiver(EXPORT_SECRET).start();
    clickhouse = await startClickHouseHttpServer({ dataDir: process.env['CLICKHOUSE_DATA_DIR']!, users: { [CLICKHOUSE_USER]: CLICKHOUSE_PASSWORD } });
    // The default session timeout (15 s): a short one evicts members of a starved machine again and again.
    const common = { ...env.env, ADMIN_TOKEN: ADMIN };
    const server = { CLICKHOUSE_URL: clickhouse.url, CLICKHOUSE_USER, CLICKHOUSE_PASSWORD, CLICKHOUSE_DATABASE: database, CLICKHOUSE_DATA_DIR: '' };
    // As in production: the migration command (the Helm Job's) creates the database and applies the schema,
    // then both replicas start in wait mode (the default with a server) on the migrated schema.
    // Not spawnSync: the ClickHouse HTTP test server answers from this process's event loop.
    const migrated = await execFileAsync(process.execPath, [join(ROOT, 'services/attribution/dist/migrate.js')], {
      env: { ...process.env, ...server, LOG_LEVEL: 'warn' },
      timeout: 300_000,
    }).catch((err: Error & { stdout?: string; stderr?: string }) => assert.fail(`npm run migrate failed: ${err.message}\n${err.stdout}\n${err.stderr}`));
    assert.ok(migrated);
    attribution = new ServiceProcess('attribution', await freePort(), { ...common, ...server, LOG_LEVEL: 'warn' });
    attributionReplica = new ServiceProcess('attribution', await freePort(), { ...common, ...server, LOG_LEVEL: 'warn' });
    await attribution.start();
    procs['attribution-replica'] = attributionReplica;
    const extra: Record<string, Record<string, string>> = {
      'conversion-export': { EXPORT_WEBHOOK_URL: receiver.url, EXPORT_WEBHOOK_SECRET: EXPORT_SECRET, EXPORT_INITIAL_BACKOFF_MS: '100' },
      'session-tracker': { LEASE_REPLY_TIMEOUT_MS: '5000' },
      // Killed and restarted below: its partitions move back without waiting 15 s for the dead member.
      'number-pool': { KAFKA_SESSION_TIMEOUT_MS: '6000' },
    };
    for (const name of ['number-pool', 'session-tracker', 'telephony-ingest', 'antifraud', 'conversion-export']) {
      procs[name] = new ServiceProcess(name, await freePort(), { ...common, ...(extra[name] ?? {}) });
    }
    await Promise.all(Object.values(procs).map((p) => p.start()));
  });

  after(async () => {
    await Promise.all(Object.values(procs).map((p) => p.stop()));
    await attribution?.stop();
    await receiver?.stop();
    await clickhouse?.close();
  });

  it('runs attribution in server mode: two replicas on one engine over HTTP, without the embedded engine loaded', async () => {
    for (const replica of [attribution, attributionReplica]) {
      const pid = replica.pid;
      assert.ok(pid, 'the replica runs');
      assert.equal(readFileSync(`/proc/${pid}/maps`, 'utf8').includes('libchdb'), false, 'server mode must not map the embedded engine');
    }
    assert.ok(clickhouse.queries > 0, 'attribution reached ClickHouse over HTTP');
  });

  it('attributes a call to its visit, exports it once, keeps leases across a number-pool crash and never exports spam', async () => {
    const pool = procs['number-pool']!;
    const site = await http('PUT', `${pool.url}/v1/admin/sites/${SITE}`, {
      headers: auth,
      body: {
        name: 'E2E shop',
        country: 'RU',
        timeZone: 'Europe/Moscow',
        defaultNumber: '+7 495 700-00-00',
        poolNumbers: ['+7 495 700-00-01', '+7 495 700-00-02', '+7 495 700-00-03'],
      },
    });
    assert.equal(site.status, 200, JSON.stringify(site.body));

    // Services learn about the site through the sites topic.
    const secret = await waitFor(
      async () => {
        const r = await http('PUT', `${procs['telephony-ingest']!.url}/v1/admin/sites/${SITE}/webhook-secret`, {
          headers: auth,
          body: { secret: WEBHOOK_SECRET },
        });
        return r.status === 200 ? r : undefined;
      },
      { what: 'telephony-ingest to know the site' },
    );
    assert.equal(secret.status, 200);
    const blockedCaller = '+79161112233';
    await waitFor(
      async () =>
        (
          await http('PUT', `${procs['antifraud']!.url}/v1/admin/sites/${SITE}/blocklist/${encodeURIComponent(blockedCaller)}`, {
            headers: auth,
            body: { reason: 'robocalls' },
          })
        ).status === 200,
      {
        what: 'antifraud to block the caller',
      },
    );

    // 1. A visit from Google Ads gets a tracking number.
    const tracker = procs['session-tracker']!;
    const visit = await waitFor(
      async () => {
        const r = await http('POST', `${tracker.url}/v1/sessions`, {
          body: {
            siteId: SITE,
            landingPage: 'https://shop.example/?utm_source=google&utm_medium=cpc&utm_campaign=brand&utm_term=buy+sofa&gclid=Cj0KCQ',
            userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0',
          },
        });
        return r.status === 201 ? r : undefined;
      },
      { what: 'session-tracker to know the site' },
    );
    assert.equal(visit.body.fallback, false, JSON.stringify(visit.body));
    const number: string = visit.body.number;
    assert.match(number, /^\+7495700000[123]$/);

    // 2. number-pool crashes and comes back: the live lease survives (rebuilt from Kafka).
    await pool.kill();
    await pool.start();
    const state = await http('GET', `${pool.url}/v1/admin/sites/${SITE}/pool`, { headers: auth });
    assert.equal(state.status, 200);
    assert.deepEqual(
      state.body.leases.map((l: { trackingNumber: string }) => l.trackingNumber),
      [number],
    );
    const second = await waitFor(
      async () => {
        const r = await http('POST', `${tracker.url}/v1/sessions`, {
          body: { siteId: SITE, landingPage: 'https://shop.example/?utm_source=yandex&utm_medium=cpc', userAgent: 'Mozilla/5.0 Firefox/121.0' },
        });
        return r.status === 201 && r.body.fallback === false ? r : undefined;
      },
      { what: 'a second lease after the restart', timeoutMs: 40_000 },
    );
    assert.notEqual(second.body.number, number, 'the restarted pool must not give the live number to another visitor');

    // 3. A call to the first visitor's number, reported by a signed webhook (twice: providers retry).
    // The call started after the visit took its number (a few seconds ago) and has just ended.
    const started = Date.now() - 3_000;
    const callBody = JSON.stringify({
      callId: `call-${randomUUID()}`,
      trackingNumber: number.replace('+7', '8 '),
      callerNumber: '8 (916) 555-44-33',
      status: 'completed',
      startedAt: new Date(started).toISOString(),
      answeredAt: new Date(started + 1_000).toISOString(),
      endedAt: new Date(started + 2_500).toISOString(),
    });
    const ingest = procs['telephony-ingest']!;
    const accepted = await http('POST', `${ingest.url}/v1/webhooks/generic/${SITE}`, {
      rawBody: callBody,
      headers: signGenericWebhook(WEBHOOK_SECRET, callBody),
    });
    assert.equal(accepted.status, 202, JSON.stringify(accepted.body));
    const again = await http('POST', `${ingest.url}/v1/webhooks/generic/${SITE}`, { rawBody: callBody, headers: signGenericWebhook(WEBHOOK_SECRET, callBody) });
    assert.equal(again.status, 202);
    const callId: string = accepted.body.callId;

    // 4. ClickHouse holds the attributed call with the visit's UTM source.
    const row = await waitFor(
      async () => {
        const r = await http('GET', `${attribution.url}/v1/sites/${SITE}/calls/${encodeURIComponent(callId)}`, { headers: auth });
        return r.status === 200 ? r.body : undefined;
      },
      { what: 'the attributed call in ClickHouse', timeoutMs: 30_000 },
    );
    const call = row.call ?? row;
    assert.equal(call.utm_source, 'google', JSON.stringify(call));
    assert.equal(call.match_method ?? call.matchMethod, 'dynamic');
    assert.equal(call.caller_number ?? call.callerNumber, '+79165554433');
    assert.equal(call.verdict, 'clean');
    // Both replicas answer from the one engine, and this process's embedded client reads the same row.
    const fromReplica = await http('GET', `${attributionReplica.url}/v1/sites/${SITE}/calls/${encodeURIComponent(callId)}`, { headers: auth });
    assert.equal(fromReplica.status, 200);
    assert.equal((fromReplica.body.call ?? fromReplica.body).utm_source, 'google');
    const embedded = createClickHouse({ dataDir: process.env['CLICKHOUSE_DATA_DIR'], database });
    try {
      const rows = await embedded.query<{ utm_source: string }>('SELECT utm_source FROM calls FINAL WHERE call_id = {id:String}', { id: callId });
      assert.deepEqual(rows, [{ utm_source: 'google' }]);
    } finally {
      await embedded.close();
    }

    // 5. The export endpoint receives it exactly once.
    await waitFor(() => receiver.forCall(callId).length > 0, { what: 'the conversion export', timeoutMs: 30_000 });
    await sleep(1500);
    assert.equal(receiver.forCall(callId).length, 1);
    const exported = receiver.forCall(callId)[0]!;
    assert.equal((exported.body['utm'] as { source: string }).source, 'google');
    assert.deepEqual(receiver.rejected, [], 'every delivery met the receiver contract');

    // 6. A blocked caller's call is stored as spam and never exported.
    const spamBody = JSON.stringify({
      callId: `spam-${randomUUID()}`,
      trackingNumber: second.body.number,
      callerNumber: blockedCaller,
      status: 'completed',
      startedAt: new Date(Date.now() - 3_000).toISOString(),
      answeredAt: new Date(Date.now() - 2_000).toISOString(),
      endedAt: new Date(Date.now() - 1_000).toISOString(),
    });
    const spam = await http('POST', `${ingest.url}/v1/webhooks/generic/${SITE}`, { rawBody: spamBody, headers: signGenericWebhook(WEBHOOK_SECRET, spamBody) });
    assert.equal(spam.status, 202);
    const spamRow = await waitFor(
      async () => {
        const r = await http('GET', `${attribution.url}/v1/sites/${SITE}/calls/${encodeURIComponent(spam.body.callId)}`, { headers: auth });
        return r.status === 200 ? (r.body.call ?? r.body) : undefined;
      },
      { what: 'the spam call in ClickHouse', timeoutMs: 30_000 },
    );
    assert.equal(spamRow.verdict, 'spam');
    const delivery = await waitFor(
      async () => {
        const r = await http('GET', `${procs['conversion-export']!.url}/v1/admin/sites/${SITE}/deliveries/${encodeURIComponent(spam.body.callId)}`, {
          headers: auth,
        });
        return r.status === 200 && r.body.status !== 'unknown' ? r.body : undefined;
      },
      { what: 'the spam call to be skipped by conversion-export', timeoutMs: 30_000 },
    );
    assert.equal(delivery.status, 'skipped');
    assert.equal(receiver.forCall(spam.body.callId).length, 0);
  });
});
