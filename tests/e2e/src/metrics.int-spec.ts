// The six services as separate processes on the real broker (attribution with its own embedded
// ClickHouse engine): every one serves /metrics; a visit, a call, a refused webhook and an export
// make the key series move; consumer lag returns to 0. The chart's alert rules and dashboard
// (charts/calltrack/files/alerts.yaml, dashboard.json), when present, may only read metric
// names that these scrapes expose.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { ConversionReceiver, createKafkaTestEnv, freePort, http, ServiceProcess, signGenericWebhook, waitFor, type KafkaTestEnv } from '@calltrack/testing';
import { dashboardExpressions, exposedNames, metricNamesOf, parseScrape, ruleExpressions, type Sample } from './metric-names.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const ADMIN = 'metrics-admin-token-0123456789';
const auth = { authorization: `Bearer ${ADMIN}` };
const SITE = 'metrics-shop';
const WEBHOOK_SECRET = 'whsec-metrics-0123456789abcdef0123456789abcdef';
const EXPORT_SECRET = 'export-secret-metrics-0123456789';
const SERVICES = ['number-pool', 'session-tracker', 'telephony-ingest', 'antifraud', 'attribution', 'conversion-export'] as const;
type Service = (typeof SERVICES)[number];

interface Scrape {
  text: string;
  samples: Sample[];
}

/** Sum of the samples of `name` whose labels include `labels`. */
function total(s: Scrape, name: string, labels: Record<string, string> = {}): number {
  return s.samples.filter((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v)).reduce((a, x) => a + x.value, 0);
}

function has(s: Scrape, name: string, labels: Record<string, string> = {}): boolean {
  return s.samples.some((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v));
}

describe('metrics: every service exposes its series, and they move', () => {
  let env: KafkaTestEnv;
  let receiver: ConversionReceiver;
  let chDir: string;
  const procs = {} as Record<Service, ServiceProcess>;

  const scrape = async (name: Service): Promise<Scrape> => {
    const res = await fetch(`${procs[name].url}/metrics`);
    assert.equal(res.status, 200, `${name} /metrics`);
    const text = await res.text();
    return { text, samples: parseScrape(text) };
  };
  const scrapeAll = async (): Promise<Record<Service, Scrape>> =>
    Object.fromEntries(await Promise.all(SERVICES.map(async (s) => [s, await scrape(s)] as const))) as Record<Service, Scrape>;

  before(async () => {
    env = await createKafkaTestEnv('metrics');
    receiver = await new ConversionReceiver(EXPORT_SECRET).start();
    chDir = mkdtempSync(join(tmpdir(), 'calltrack-metrics-chdb-'));
    const common = { ...env.env, ADMIN_TOKEN: ADMIN, KAFKA_SESSION_TIMEOUT_MS: '6000' };
    const extra: Partial<Record<Service, Record<string, string>>> = {
      'conversion-export': { EXPORT_WEBHOOK_URL: receiver.url, EXPORT_WEBHOOK_SECRET: EXPORT_SECRET, EXPORT_INITIAL_BACKOFF_MS: '100' },
      'session-tracker': { LEASE_REPLY_TIMEOUT_MS: '5000' },
      attribution: { CLICKHOUSE_DATA_DIR: chDir, CLICKHOUSE_DATABASE: `metrics_${randomUUID().slice(0, 8)}` },
    };
    for (const name of SERVICES) procs[name] = new ServiceProcess(name, await freePort(), { ...common, ...(extra[name] ?? {}) });
    await Promise.all(Object.values(procs).map((p) => p.start()));
  });

  after(async () => {
    await Promise.all(Object.values(procs).map((p) => p.stop()));
    await receiver?.stop();
    if (chDir) rmSync(chDir, { recursive: true, force: true });
  });

  it('a visit, call, refused webhook and export move the series of every service; lag returns to 0; rules and dashboard read only exposed names', async () => {
    const before = await scrapeAll();
    for (const name of SERVICES) {
      const s = before[name];
      // The service label on every series, and Node's default metrics.
      assert.ok(
        s.samples.every((x) => x.labels['service'] === name),
        `${name}: every series carries service="${name}"`,
      );
      for (const m of ['process_resident_memory_bytes', 'nodejs_eventloop_lag_p99_seconds', 'nodejs_heap_size_used_bytes'])
        assert.ok(has(s, m), `${name}: ${m}`);
      // Ready means every consumer joined.
      const up = s.samples.filter((x) => x.name === 'calltrack_consumer_up');
      assert.ok(up.length > 0, `${name}: calltrack_consumer_up`);
      for (const u of up) assert.equal(u.value, 1, `${name}: consumer ${u.labels['group']} up`);
      assert.ok(has(s, 'calltrack_consumer_rebalances_total'), `${name}: rebalances`);
      assert.ok(has(s, 'calltrack_consumer_last_progress_seconds'), `${name}: last progress`);
    }
    // Every agreed name is declared from the start (docs/operations.md), samples or not yet.
    const common = [
      'calltrack_http_requests_total',
      'calltrack_http_request_duration_seconds',
      'calltrack_consumer_up',
      'calltrack_consumer_lag',
      'calltrack_consumer_records_total',
      'calltrack_consumer_batch_size',
      'calltrack_consumer_batch_duration_seconds',
      'calltrack_consumer_retries_total',
      'calltrack_consumer_parked_total',
      'calltrack_consumer_dead_lettered_total',
      'calltrack_consumer_rebalances_total',
      'calltrack_consumer_restarts_total',
      'calltrack_consumer_last_progress_seconds',
      'calltrack_producer_send_duration_seconds',
      'calltrack_producer_failures_total',
    ];
    const own: Record<Service, string[]> = {
      'session-tracker': ['calltrack_sessions_started_total', 'calltrack_pool_lease_reply_timeouts_total'],
      'number-pool': ['calltrack_pool_leases_granted_total', 'calltrack_pool_lease_rejections_total', 'calltrack_pool_leases_ended_total'],
      'telephony-ingest': ['calltrack_webhooks_total', 'calltrack_calls_reported_total'],
      antifraud: ['calltrack_antifraud_verdicts_total'],
      attribution: [
        'calltrack_calls_attributed_total',
        'calltrack_attribution_evaluation_duration_seconds',
        'calltrack_clickhouse_insert_rows_total',
        'calltrack_clickhouse_insert_duration_seconds',
        'calltrack_clickhouse_insert_failures_total',
        'calltrack_clickhouse_up',
      ],
      'conversion-export': ['calltrack_exports_total', 'calltrack_export_delivery_duration_seconds'],
    };
    for (const name of SERVICES) {
      const declared = exposedNames(before[name].text);
      const missing = [...common, ...own[name]].filter((m) => !declared.has(m));
      assert.deepEqual(missing, [], `${name} declares every agreed metric`);
    }
    assert.equal(total(before.attribution, 'calltrack_clickhouse_up'), 1);
    // No personal data nor secrets in a scrape: neither the site, nor the tokens.
    for (const name of SERVICES) for (const secret of [ADMIN, WEBHOOK_SECRET, EXPORT_SECRET]) assert.ok(!before[name].text.includes(secret));

    // The flow of the walking skeleton.
    const pool = procs['number-pool'];
    const site = await http('PUT', `${pool.url}/v1/admin/sites/${SITE}`, {
      headers: auth,
      body: {
        name: 'Metrics shop',
        country: 'RU',
        timeZone: 'Europe/Moscow',
        defaultNumber: '+7 495 710-00-00',
        poolNumbers: ['+7 495 710-00-01', '+7 495 710-00-02'],
      },
    });
    assert.equal(site.status, 200, JSON.stringify(site.body));
    const ingest = procs['telephony-ingest'];
    await waitFor(
      async () =>
        (await http('PUT', `${ingest.url}/v1/admin/sites/${SITE}/webhook-secret`, { headers: auth, body: { secret: WEBHOOK_SECRET } })).status === 200,
      { what: 'telephony-ingest to know the site' },
    );
    const tracker = procs['session-tracker'];
    const visit = await waitFor(
      async () => {
        const r = await http('POST', `${tracker.url}/v1/sessions`, {
          body: {
            siteId: SITE,
            landingPage: 'https://shop.example/?utm_source=google&utm_medium=cpc',
            userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0',
          },
        });
        return r.status === 201 && r.body.fallback === false ? r : undefined;
      },
      { what: 'a visit with a pool number', timeoutMs: 40_000 },
    );
    // The call starts once the visitor has seen the number (a lease answers before the visit does).
    const started = Date.now() + 100;
    const callBody = JSON.stringify({
      callId: `call-${randomUUID()}`,
      trackingNumber: visit.body.number,
      callerNumber: '+79165554433',
      status: 'completed',
      startedAt: new Date(started).toISOString(),
      answeredAt: new Date(started + 1_000).toISOString(),
      endedAt: new Date(started + 2_500).toISOString(),
    });
    const forged = await http('POST', `${ingest.url}/v1/webhooks/generic/${SITE}`, {
      rawBody: callBody,
      headers: signGenericWebhook('not-the-secret-0123456789abcdef', callBody),
    });
    assert.equal(forged.status, 401);
    const accepted = await http('POST', `${ingest.url}/v1/webhooks/generic/${SITE}`, {
      rawBody: callBody,
      headers: signGenericWebhook(WEBHOOK_SECRET, callBody),
    });
    assert.equal(accepted.status, 202, JSON.stringify(accepted.body));
    await waitFor(() => receiver.forCall(accepted.body.callId).length > 0, { what: 'the conversion export', timeoutMs: 60_000 });

    // Lag back to 0 on every assigned partition once the flow has gone through.
    const settled = await waitFor(
      async () => {
        const now = await scrapeAll();
        const lags = SERVICES.flatMap((s) => now[s].samples.filter((x) => x.name === 'calltrack_consumer_lag'));
        return lags.every((l) => l.value === 0) ? now : undefined;
      },
      { what: 'consumer lag back to 0 everywhere', timeoutMs: 60_000 },
    );
    const after = settled;
    // The scrapes stay beside the test results: what an operator's Prometheus would see.
    const out = process.env['TEST_RESULTS_DIR'];
    if (out) for (const name of SERVICES) writeFileSync(join(out, `metrics-${name}.txt`), after[name].text);
    for (const [service, group] of [
      ['antifraud', 'antifraud.calls'],
      ['attribution', 'attribution.calls'],
      ['conversion-export', 'conversion-export'],
      ['number-pool', 'number-pool'],
    ] as const) {
      assert.ok(has(after[service], 'calltrack_consumer_lag', { group }), `${service}: lag of ${group} is reported`);
    }

    const moved = (service: Service, name: string, labels: Record<string, string> = {}): void => {
      const was = total(before[service], name, labels);
      const is = total(after[service], name, labels);
      const seen = after[service].samples.filter((x) => x.name === name).map((x) => `${JSON.stringify(x.labels)} ${x.value}`);
      assert.ok(is > was, `${service}: ${name}${JSON.stringify(labels)} moved (${was} -> ${is}); series: ${seen.join('; ')}`);
    };
    moved('session-tracker', 'calltrack_http_requests_total', { route: '/v1/sessions', method: 'POST', status: '201' });
    moved('session-tracker', 'calltrack_sessions_started_total', { number: 'pool' });
    moved('session-tracker', 'calltrack_producer_send_duration_seconds_count');
    moved('number-pool', 'calltrack_pool_leases_granted_total');
    moved('number-pool', 'calltrack_consumer_records_total');
    moved('number-pool', 'calltrack_consumer_batch_size_count');
    moved('telephony-ingest', 'calltrack_webhooks_total', { provider: 'generic', outcome: 'accepted' });
    moved('telephony-ingest', 'calltrack_webhooks_total', { provider: 'generic', outcome: 'refused', reason: 'signature_mismatch' });
    moved('telephony-ingest', 'calltrack_calls_reported_total', { provider: 'generic' });
    moved('antifraud', 'calltrack_antifraud_verdicts_total', { subject: 'call', verdict: 'clean' });
    moved('antifraud', 'calltrack_antifraud_verdicts_total', { subject: 'session', verdict: 'clean' });
    moved('antifraud', 'calltrack_consumer_records_total', { group: 'antifraud.calls' });
    moved('attribution', 'calltrack_calls_attributed_total', { outcome: 'attributed', method: 'dynamic' });
    moved('attribution', 'calltrack_attribution_evaluation_duration_seconds_count');
    moved('attribution', 'calltrack_clickhouse_insert_rows_total', { table: 'calls' });
    moved('attribution', 'calltrack_clickhouse_insert_duration_seconds_count', { table: 'calls' });
    moved('attribution', 'calltrack_consumer_batch_duration_seconds_count', { group: 'attribution.calls' });
    moved('conversion-export', 'calltrack_exports_total', { destination_kind: 'webhook', outcome: 'delivered' });
    moved('conversion-export', 'calltrack_export_delivery_duration_seconds_count', { destination_kind: 'webhook' });
    moved('conversion-export', 'calltrack_consumer_last_progress_seconds', { group: 'conversion-export' });
    assert.equal(total(after.attribution, 'calltrack_clickhouse_up'), 1);
    // Bounded labels: the site id and the call id never appear.
    for (const name of SERVICES) {
      assert.ok(!after[name].text.includes(SITE), `${name}: no site id in a label`);
      assert.ok(!after[name].text.includes(accepted.body.callId), `${name}: no call id in a label`);
    }

    // The chart's rules and dashboard read only what the services expose (checked once the chart ships them).
    const exposed = new Set(SERVICES.flatMap((s) => [...exposedNames(after[s].text)]));
    const ours = (n: string) => /^(calltrack|nodejs|process)_/.test(n);
    const alerts = join(ROOT, 'charts/calltrack/files/alerts.yaml');
    const dashboard = join(ROOT, 'charts/calltrack/files/dashboard.json');
    for (const [file, exprs] of [
      [alerts, () => ruleExpressions(readFileSync(alerts, 'utf8'))],
      [dashboard, () => dashboardExpressions(JSON.parse(readFileSync(dashboard, 'utf8')))],
    ] as const) {
      if (!existsSync(file)) continue;
      const names = exprs().flatMap((e) => metricNamesOf(e));
      assert.ok(names.some(ours), `${file}: reads calltrack metrics`);
      const unknown = [...new Set(names.filter((n) => ours(n) && !exposed.has(n)))];
      assert.deepEqual(unknown, [], `${file} reads metrics no service exposes`);
    }
  });
});
