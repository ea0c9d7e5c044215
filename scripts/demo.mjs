// Starts the six services as separate processes against the local broker, plays a
// visit, two calls, a callback request and an ad-cost import through their public APIs,
// and prints what happened, down to the report by keyword and the visitor card.
// DEMO_PLATFORM=compose (docker compose's demo profile): the services already run as the
// compose stack; the demo only plays against them (conversions are then followed through
// conversion-export's delivery status: the stack delivers to its own EXPORT_WEBHOOK_URL).
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { ConversionReceiver, ServiceProcess, http, signGenericWebhook, waitFor } from '@calltrack/testing';

const exitAfter = process.argv.includes('--exit');
const compose = process.env.DEMO_PLATFORM === 'compose';
// A fresh random token per run unless one is given (services refuse placeholders and short tokens).
const ADMIN_TOKEN = process.env.ADMIN_TOKEN ?? `demo-${randomUUID()}`;
const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
const brokers = process.env.KAFKA_BROKERS ?? '127.0.0.1:9092';
const dataDir = process.env.CLICKHOUSE_DATA_DIR ?? `${process.cwd()}/.data/clickhouse`;
if (!compose) mkdirSync(dataDir, { recursive: true });
process.env.SERVICE_LOG_DIR ??= `${process.cwd()}/.cache/logs`;
const say = (s = '') => process.stdout.write(`${s}\n`);

const receiver = compose ? undefined : await new ConversionReceiver('demo-export-secret-0123456789').start();
const common = { KAFKA_BROKERS: brokers, ADMIN_TOKEN, LOG_LEVEL: process.env.LOG_LEVEL ?? 'info' };
const ports = { 'session-tracker': 8081, 'number-pool': 8082, 'telephony-ingest': 8083, attribution: 8084, 'conversion-export': 8085, antifraud: 8086 };
const extra = {
  attribution: { CLICKHOUSE_DATA_DIR: dataDir },
  'conversion-export': { EXPORT_WEBHOOK_URL: receiver?.url ?? '', EXPORT_WEBHOOK_SECRET: 'demo-export-secret-0123456789' },
};
// In compose the services are reached by their compose names and started and stopped by compose.
const composed = (name, port) => ({ url: `http://${name}:${port}`, start: async () => undefined, stop: async () => undefined });
const services = Object.fromEntries(
  Object.entries(ports).map(([name, port]) => [name, compose ? composed(name, port) : new ServiceProcess(name, port, { ...common, ...(extra[name] ?? {}) })]),
);
// Where a person on this machine reaches a service (compose publishes them on loopback).
const shown = (name) => (compose ? `http://127.0.0.1:${ports[name]}` : services[name].url);
const delivery = (site, id) =>
  waitFor(
    async () => {
      const r = await http('GET', `${services['conversion-export'].url}/v1/admin/sites/${site}/deliveries/${encodeURIComponent(id)}`, { headers: auth });
      return r.status === 200 && r.body.status !== 'unknown' ? r.body : undefined;
    },
    { what: 'the conversion delivery status', timeoutMs: 60_000 },
  );

let stopping = false;
async function stopAll(code = 0) {
  if (stopping) return;
  stopping = true;
  say('\nstopping services (graceful drain)...');
  await Promise.all(Object.values(services).map((s) => s.stop()));
  await receiver?.stop();
  process.exit(code);
}
process.on('SIGINT', () => void stopAll(0));
process.on('SIGTERM', () => void stopAll(0));

try {
  say(compose ? 'playing against the compose stack...' : 'starting the six services...');
  await Promise.all(Object.values(services).map((s) => s.start()));
  const site = `demo-${randomUUID().slice(0, 6)}`;
  // A number belongs to one site at a time, and the broker keeps earlier demos' sites: each run takes its own block of numbers.
  const block = String(1000 + Math.floor(Math.random() * 8000));
  const number = (i) => `+7 495 ${block.slice(0, 3)}-${block.slice(3)}${i}-0${i}`;
  say(`configuring site ${site} (pool of 3 numbers, Moscow)`);
  const put = await http('PUT', `${services['number-pool'].url}/v1/admin/sites/${site}`, {
    headers: auth,
    body: { name: 'Demo furniture shop', country: 'RU', timeZone: 'Europe/Moscow', defaultNumber: number(0), poolNumbers: [number(1), number(2), number(3)] },
  });
  if (put.status !== 200) throw new Error(`site configuration failed: ${JSON.stringify(put.body)}`);
  const secret = 'demo-webhook-secret-0123456789abcdef';
  await waitFor(
    async () =>
      (await http('PUT', `${services['telephony-ingest'].url}/v1/admin/sites/${site}/webhook-secret`, { headers: auth, body: { secret } })).status === 200,
    { what: 'webhook secret' },
  );
  await waitFor(
    async () =>
      (await http('PUT', `${services.antifraud.url}/v1/admin/sites/${site}/blocklist/%2B79990000000`, { headers: auth, body: { reason: 'known robocaller' } }))
        .status === 200,
    { what: 'blocklist entry' },
  );

  const visit = await waitFor(
    async () => {
      const r = await http('POST', `${services['session-tracker'].url}/v1/sessions`, {
        body: {
          siteId: site,
          landingPage: 'https://shop.example/sofas?utm_source=google&utm_medium=cpc&utm_campaign=sofas&utm_term=buy+sofa&gclid=demo',
          userAgent: 'Mozilla/5.0 (Windows NT 10.0) Chrome/120.0',
        },
      });
      return r.status === 201 ? r.body : undefined;
    },
    { what: 'a session' },
  );
  say(`visit ${visit.sessionId} from google/cpc sees tracking number ${visit.number}`);

  const post = async (body) => {
    const raw = JSON.stringify(body);
    const r = await http('POST', `${services['telephony-ingest'].url}/v1/webhooks/generic/${site}`, { rawBody: raw, headers: signGenericWebhook(secret, raw) });
    if (r.status !== 202) throw new Error(`webhook refused: ${JSON.stringify(r.body)}`);
    return r.body.callId;
  };
  // The visitor calls the number they see: the call starts after the visit and lasts a few seconds.
  const visitAt = Date.now();
  await new Promise((r) => setTimeout(r, 3000));
  const at = (ms) => new Date(visitAt + ms).toISOString();
  const callId = await post({
    callId: randomUUID(),
    trackingNumber: visit.number,
    callerNumber: '8 916 555-44-33',
    status: 'completed',
    startedAt: at(500),
    answeredAt: at(1_000),
    endedAt: at(2_900),
  });
  const spamId = await post({
    callId: randomUUID(),
    trackingNumber: visit.number,
    callerNumber: '+7 999 000-00-00',
    status: 'completed',
    startedAt: at(1_500),
    answeredAt: at(2_000),
    endedAt: at(2_800),
  });
  say(`call ${callId} from +79165554433 reported; call ${spamId} from a blocked caller reported`);

  const row = await waitFor(
    async () => {
      const r = await http('GET', `${services.attribution.url}/v1/sites/${site}/calls/${encodeURIComponent(callId)}`, { headers: auth });
      return r.status === 200 ? r.body : undefined;
    },
    { what: 'the attributed call', timeoutMs: 60_000 },
  );
  say(`ClickHouse row: ${JSON.stringify(row)}`);
  if (receiver) {
    await waitFor(() => receiver.forCall(callId).length > 0, { what: 'the export', timeoutMs: 60_000 });
    say(`exported conversion: ${JSON.stringify(receiver.forCall(callId)[0].body)}`);
  } else {
    say(`conversion delivery: ${JSON.stringify(await delivery(site, callId))}`);
  }
  const spamRow = await waitFor(
    async () => {
      const r = await http('GET', `${services.attribution.url}/v1/sites/${site}/calls/${encodeURIComponent(spamId)}`, { headers: auth });
      return r.status === 200 ? r.body : undefined;
    },
    { what: 'the spam call', timeoutMs: 60_000 },
  );
  const spamExport = receiver ? `exports received for it: ${receiver.forCall(spamId).length}` : `delivery: ${(await delivery(site, spamId)).status}`;
  say(`spam call stored with verdict ${spamRow.verdict ?? spamRow.call?.verdict}; ${spamExport}`);

  // The same visitor also leaves a callback request on the site; the site's backend forwards it with the tracker's ids.
  const enquiryBody = JSON.stringify({
    enquiryId: `form-${randomUUID().slice(0, 8)}`,
    kind: 'callback_request',
    occurredAt: at(2_950),
    sessionId: visit.sessionId,
    visitorId: visit.visitorId,
    phone: '8 916 555-44-33',
    name: 'Anna',
  });
  const enquiry = await http('POST', `${services['telephony-ingest'].url}/v1/sites/${site}/enquiries`, {
    rawBody: enquiryBody,
    headers: signGenericWebhook(secret, enquiryBody),
  });
  if (enquiry.status !== 200) throw new Error(`enquiry refused: ${JSON.stringify(enquiry.body)}`);
  // What the sofa ads cost today (in Moscow), as a bid manager would import it.
  const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Moscow' }).format(new Date());
  const costs = await http('POST', `${services.attribution.url}/v1/admin/sites/${site}/ad-costs`, {
    headers: auth,
    body: {
      currency: 'RUB',
      rows: [{ day: today, source: 'google', medium: 'cpc', campaign: 'sofas', keyword: 'buy sofa', cost: 1500, clicks: 42, impressions: 900 }],
    },
  });
  if (costs.status !== 202) throw new Error(`ad-cost import refused: ${JSON.stringify(costs.body)}`);
  const card = await waitFor(
    async () => {
      const r = await http('GET', `${services.attribution.url}/v1/sites/${site}/visitors/${visit.visitorId}`, { headers: auth });
      return r.status === 200 && r.body.summary.enquiries > 0 ? r.body : undefined;
    },
    { what: 'the visitor card with the enquiry', timeoutMs: 60_000 },
  );
  say(`visitor card: ${JSON.stringify(card.summary)}; sources ${JSON.stringify(card.sources.map((x) => `${x.channel}/${x.utmSource}/${x.utmCampaign}`))}`);
  const report = await waitFor(
    async () => {
      const r = await http('GET', `${services.attribution.url}/v1/sites/${site}/reports/sources?level=keyword`, { headers: auth });
      const google = r.body?.rows?.find((x) => x.key.utm_source === 'google');
      return google && google.cost > 0 ? google : undefined;
    },
    { what: 'the source report with the cost', timeoutMs: 60_000 },
  );
  say(`report by keyword: google/cpc/sofas/"buy sofa": ${report.visits} visit, ${report.calls} call, cost ${report.cost} RUB, ${report.costPerCall} per call`);

  say('');
  say('Where to look:');
  say(`  session API        POST ${shown('session-tracker')}/v1/sessions`);
  say(`  pool state         curl -H 'authorization: Bearer ${ADMIN_TOKEN}' ${shown('number-pool')}/v1/admin/sites/${site}/pool`);
  say(`  attributed calls   curl -H 'authorization: Bearer ${ADMIN_TOKEN}' '${shown('attribution')}/v1/sites/${site}/calls'`);
  say(
    `  reports            curl -H 'authorization: Bearer ${ADMIN_TOKEN}' ` +
      `'${shown('attribution')}/v1/sites/${site}/reports/sources?level=keyword'   (docs/reports.md)`,
  );
  say(`  visitor card       curl -H 'authorization: Bearer ${ADMIN_TOKEN}' '${shown('attribution')}/v1/sites/${site}/visitors/${visit.visitorId}'`);
  say(
    `  delivery status    curl -H 'authorization: Bearer ${ADMIN_TOKEN}' ` +
      `${shown('conversion-export')}/v1/admin/sites/${site}/deliveries/${encodeURIComponent(callId)}`,
  );
  say(`  health             curl ${shown('attribution')}/readyz   (every service: /healthz, /readyz)`);
  say(`  Kafka topics       kcat -L -b ${brokers}`);
  if (compose) {
    say('  service logs       docker compose logs <service>          traces: http://127.0.0.1:16686 (Jaeger)');
    say('  ClickHouse         http://127.0.0.1:8123 (the compose ClickHouse server, database from CLICKHOUSE_DATABASE)');
  } else {
    say(`  service logs       ${process.env.SERVICE_LOG_DIR}/<service>-1.log    broker log: .cache/kafka-9092/broker.log`);
    say(`  ClickHouse data    ${dataDir} (embedded engine, owned by attribution)`);
  }
  if (exitAfter) await stopAll(0);
  say('\nplatform running; Ctrl-C to stop.');
} catch (err) {
  say(`demo failed: ${err instanceof Error ? err.message : String(err)}`);
  await stopAll(1);
}
