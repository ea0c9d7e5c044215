// The chaos run (docs/chaos.md): starts its own Kafka broker and the six services as separate
// processes on their own topics and ClickHouse directory, drives visits and signed calls
// (with resends and spam callers), SIGKILLs each service in turn and restarts it, restarts
// the broker gracefully once and kills it once, waits until the platform is quiet, then
// checks what it sent and was acknowledged against what the platform stored, exported and
// logged. Prints a table; exits 1 on a violation, 2 when the run itself could not be made.
//
//   npm run chaos                         # 3 minutes of traffic
//   CHAOS_SECONDS=600 npm run chaos       # the 10-minute run
import { randomUUID } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { topicName } from '@calltrack/contracts';
import { createKafka, listTopics } from '@calltrack/kafka';
import { createLogger } from '@calltrack/telemetry';
import { ConversionReceiver, freePort, LeaseLedger, ServiceProcess, waitFor } from '@calltrack/testing';
import { createRandom } from '../simulate/random.mjs';
import { Platform, SERVICE_NAMES } from '../simulate/platform.mjs';
import { Broker } from './broker.mjs';
import { consumerGroups, countedGroups, quietSnapshot, readTopics } from './kafka-state.mjs';
import { ChaosTraffic } from './traffic.mjs';

const ROOT = resolve(import.meta.dirname, '../..');
const env = process.env;

function num(name, fallback, { min, max }) {
  const raw = env[name];
  const v = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isFinite(v) || v < min || v > max) throw new Error(`${name} must be a number from ${min} to ${max}, got ${raw}`);
  return v;
}

const runId = randomUUID().slice(0, 8);
const o = {
  seconds: num('CHAOS_SECONDS', 180, { min: 30, max: 86_400 }),
  kafkaPort: num('CHAOS_KAFKA_PORT', 19492, { min: 1024, max: 65000 }),
  visitsPerSecond: num('CHAOS_VISITS_PER_SECOND', 5, { min: 0.1, max: 500 }),
  callsPerSecond: num('CHAOS_CALLS_PER_SECOND', 2, { min: 0.1, max: 200 }),
  poolSize: num('CHAOS_POOL_SIZE', 100, { min: 1, max: 5000 }),
  leaseTailSeconds: num('CHAOS_LEASE_TAIL_SECONDS', 10, { min: 1, max: 3600 }),
  leaseReplyTimeoutMs: num('CHAOS_LEASE_REPLY_TIMEOUT_MS', 3000, { min: 50, max: 30_000 }),
  brokerDownSeconds: num('CHAOS_BROKER_DOWN_SECONDS', 10, { min: 0, max: 600 }),
  quietTimeoutSeconds: num('CHAOS_QUIET_TIMEOUT_SECONDS', 300, { min: 10, max: 7200 }),
  recoverySeconds: num('CHAOS_RECOVERY_SECONDS', 120, { min: 10, max: 3600 }),
  poison: num('CHAOS_POISON_RECORDS', 3, { min: 0, max: 1000 }),
  unreadyLimitSeconds: num('CHAOS_UNREADY_LIMIT_SECONDS', 60, { min: 1, max: 3600 }),
  answerLimitMs: num('CHAOS_ANSWER_LIMIT_MS', 10_000, { min: 100, max: 120_000 }),
  seed: env.CHAOS_SEED ?? runId,
  prefix: env.CHAOS_TOPIC_PREFIX ?? `chaos.${runId}.`,
  keep: env.CHAOS_KEEP === '1',
};
o.controllerPort = num('CHAOS_KAFKA_CONTROLLER_PORT', o.kafkaPort + 1, { min: 1024, max: 65535 });
o.dataDir = env.CHAOS_DATA_DIR ?? `/tmp/calltrack-chaos-${runId}`;
o.kafkaHome = env.CHAOS_KAFKA_HOME_DIR ?? join(ROOT, `.cache/chaos/kafka-${o.kafkaPort}-${runId}`);
o.outDir = env.CHAOS_OUT_DIR ?? join(ROOT, '.cache/chaos', runId);
if ([9092, 19092].includes(o.kafkaPort))
  throw new Error(`CHAOS_KAFKA_PORT ${o.kafkaPort} is a shared broker's port: the chaos run stops and kills its broker, give it its own`);
env.SERVICE_LOG_DIR = join(o.outDir, 'logs');
// How long a (re)started service may take to be ready (ServiceProcess); a busy machine needs more than a minute.
env.SERVICE_READY_TIMEOUT_MS ??= String(num('CHAOS_SERVICE_READY_SECONDS', 240, { min: 10, max: 3600 }) * 1000);
mkdirSync(env.SERVICE_LOG_DIR, { recursive: true });

const t0 = Date.now();
const log = (s = '') => process.stdout.write(`[${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${s}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
const random = createRandom(`chaos:${o.seed}`).next;

const adminToken = `chaos-admin-${runId}-0123456789`;
const auth = { authorization: `Bearer ${adminToken}` };
const webhookSecret = `chaos-webhook-secret-${runId}-0123456789abcdef`;
const exportSecret = `chaos-export-secret-${runId}-0123456789`;
const siteId = `chaos-${runId}`;
const spamCallers = ['+79990000001', '+79990000002', '+79990000003'];

const broker = new Broker({
  root: ROOT,
  port: o.kafkaPort,
  homeDir: o.kafkaHome,
  prefix: o.prefix,
  heapOpts: env.CHAOS_KAFKA_HEAP_OPTS ?? '-Xms256m -Xmx512m',
});
broker.env.KAFKA_CONTROLLER_PORT = String(o.controllerPort);
const receiver = new ConversionReceiver(exportSecret);
let platform;
let exporter;
const allServices = () => (platform ? { ...platform.services, 'conversion-export': exporter } : {});

async function get(url, timeoutMs = 5000) {
  try {
    const res = await fetch(url, { headers: auth, signal: AbortSignal.timeout(timeoutMs) });
    const text = await res.text();
    let body;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = text;
    }
    return { status: res.status, body };
  } catch (err) {
    return { status: 0, body: String(err?.message ?? err) };
  }
}

// ---- liveness monitor: /healthz and /readyz of every service, every second ----

/**
 * A consumer that died for good while its process lives shows as /readyz failing while
 * /healthz answers 200. Stretches of that are measured per service, except while the service
 * itself is being restarted; broker outages make every service unready for a while, which
 * is why the verdict is taken once the platform should have recovered (after the quiet wait).
 */
class Monitor {
  constructor() {
    this.state = {};
    this.restarting = new Set();
    /** While the broker is down (stop/kill until start.sh returns) unreadiness is expected. */
    this.brokerDown = false;
    this.exits = [];
  }
  start() {
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        await Promise.all(Object.entries(allServices()).map(([name, svc]) => this.#probe(name, svc)));
        await sleep(1000);
      }
    })();
  }
  async #probe(name, svc) {
    const s = (this.state[name] ??= { unreadySince: undefined, longestUnreadyMs: 0, failing: {}, restartsByMonitor: 0 });
    if (this.restarting.has(name) || this.brokerDown) {
      s.unreadySince = undefined;
      return;
    }
    const child = svc['child'];
    if (child && (child.exitCode !== null || child.signalCode !== null)) {
      // It exited on its own: an orchestrator would start it again, so does the run.
      this.exits.push({ name, atMs: Date.now(), code: child.exitCode, signal: child.signalCode });
      log(`${name} exited on its own (code ${child.exitCode}, signal ${child.signalCode}); starting it again`);
      s.restartsByMonitor += 1;
      await restart(name, svc, false);
      return;
    }
    const [health, ready] = await Promise.all([get(`${svc.url}/healthz`, 3000), get(`${svc.url}/readyz`, 3000)]);
    if (health.status === 200 && ready.status !== 200) {
      s.unreadySince ??= Date.now();
      s.longestUnreadyMs = Math.max(s.longestUnreadyMs, Date.now() - s.unreadySince);
      const checks = ready.body?.checks ?? {};
      for (const [k, v] of Object.entries(checks)) if (!v) s.failing[k] = (s.failing[k] ?? 0) + 1;
    } else {
      s.unreadySince = undefined;
    }
  }
  async stop() {
    this.running = false;
    await this.loop;
  }
}
const monitor = new Monitor();

async function restart(name, svc, kill = true) {
  monitor.restarting.add(name);
  try {
    if (kill) await svc.kill();
    await svc.start();
    return true;
  } catch (err) {
    log(`${name} did not become ready after its restart: ${err.message}`);
    return false;
  } finally {
    monitor.restarting.delete(name);
  }
}

async function allReady(timeoutMs) {
  const started = Date.now();
  try {
    await waitFor(async () => (await Promise.all(Object.values(allServices()).map((s) => get(`${s.url}/readyz`, 3000)))).every((r) => r.status === 200), {
      what: 'every service to be ready',
      timeoutMs,
      intervalMs: 500,
    });
    return { ok: true, ms: Date.now() - started };
  } catch {
    const states = await Promise.all(Object.entries(allServices()).map(async ([n, s]) => [n, await get(`${s.url}/readyz`, 3000)]));
    return {
      ok: false,
      ms: Date.now() - started,
      notReady: states.filter(([, r]) => r.status !== 200).map(([n, r]) => `${n}: ${r.status} ${JSON.stringify(r.body?.checks ?? r.body)}`),
    };
  }
}

// ---- faults ----

const faults = [];
async function runFault(kind, target) {
  const fault = { kind, target, startMs: Date.now() };
  faults.push(fault);
  log(`fault: ${kind} ${target}`);
  if (kind === 'kill') {
    fault.restarted = await restart(target, allServices()[target]);
  } else {
    monitor.brokerDown = true;
    try {
      if (kind === 'broker-stop') await broker.stop();
      else await broker.kill();
      await sleep(o.brokerDownSeconds * 1000); // the outage's length is the fault, not a wait for something
      await broker.start();
    } finally {
      monitor.brokerDown = false;
    }
  }
  fault.doneMs = Date.now();
  const recovery = await allReady(o.recoverySeconds * 1000);
  fault.recoveredMs = recovery.ok ? Date.now() : undefined;
  fault.notReady = recovery.notReady;
  const outcome = recovery.ok
    ? `every service ready ${((Date.now() - fault.doneMs) / 1000).toFixed(1)} s after`
    : `NOT every service ready after ${o.recoverySeconds} s: ${recovery.notReady.join('; ')}`;
  log(`  ${kind} ${target}: ${outcome}`);
}

function faultPlan() {
  // The broker faults come late: a consumer that a broker outage stopped for good must still
  // be dead at the end, not healed by a later kill of its process (number-pool, the services
  // killed first, keep whatever the two broker faults did to them).
  const kills = ['number-pool', 'session-tracker', 'telephony-ingest', 'antifraud', 'attribution', 'conversion-export'].map((s) => ['kill', s]);
  return [kills[0], kills[1], kills[2], kills[3], ['broker-stop', 'kafka'], kills[4], kills[5], ['broker-kill', 'kafka']];
}

// ---- the run ----

async function main() {
  log(
    `chaos run ${runId}: ${o.seconds} s of traffic (${o.visitsPerSecond} visits/s, ${o.callsPerSecond} calls/s), broker ` +
      `127.0.0.1:${o.kafkaPort}, prefix ${o.prefix}, ClickHouse ${o.dataDir}, logs ${env.SERVICE_LOG_DIR}`,
  );
  if (await broker.answering())
    throw new Error(`something already answers on 127.0.0.1:${o.kafkaPort}: the chaos run needs a broker of its own (CHAOS_KAFKA_PORT)`);
  await broker.start();
  await receiver.start();
  const servicePorts = {};
  for (const n of SERVICE_NAMES) servicePorts[n] = await freePort();
  platform = new Platform({
    brokers: broker.brokers,
    prefix: o.prefix,
    adminToken,
    dataDir: o.dataDir,
    ports: { services: servicePorts, grpc: await freePort() },
    logLevel: env.CHAOS_SERVICE_LOG_LEVEL ?? 'info',
    serviceEnv: {
      'session-tracker': { LEASE_REPLY_TIMEOUT_MS: String(o.leaseReplyTimeoutMs), RATE_LIMIT_PER_ADDRESS_PER_MINUTE: '1000000' },
      'number-pool': { EXPIRY_SWEEP_INTERVAL_MS: '500' },
      attribution: { ATTRIBUTION_MARKOV_REFRESH_MINUTES: '0' },
    },
  });
  exporter = new ServiceProcess('conversion-export', await freePort(), {
    KAFKA_BROKERS: broker.brokers,
    KAFKA_TOPIC_PREFIX: o.prefix,
    ADMIN_TOKEN: adminToken,
    LOG_LEVEL: env.CHAOS_SERVICE_LOG_LEVEL ?? 'info',
    KAFKA_SESSION_TIMEOUT_MS: '10000',
    EXPORT_WEBHOOK_URL: receiver.url,
    EXPORT_WEBHOOK_SECRET: exportSecret,
    EXPORT_RETRY_DELAYS_MS: '2000,5000,10000',
  });
  log('starting the six services...');
  await platform.start();
  await exporter.start();
  const poolNumbers = Array.from({ length: o.poolSize }, (_, i) => `+7495${String(5_000_000 + i).slice(-7)}`);
  const defaultNumber = '+74954999999';
  await platform.configureSite({ siteId, poolNumbers, defaultNumber, leaseTtlSeconds: o.leaseTailSeconds, webhookSecret });
  for (const phone of spamCallers) {
    await waitFor(
      async () =>
        (
          await fetch(`${allServices().antifraud.url}/v1/admin/sites/${siteId}/blocklist/${encodeURIComponent(phone)}`, {
            method: 'PUT',
            headers: { ...auth, 'content-type': 'application/json' },
            body: JSON.stringify({ reason: 'chaos spam caller' }),
          })
        ).status === 200,
      {
        what: `antifraud to block ${phone}`,
        timeoutMs: 30_000,
      },
    );
  }
  log(`site ${siteId}: pool of ${o.poolSize}, lease tail ${o.leaseTailSeconds} s, ${spamCallers.length} blocked callers`);

  // Poison: records nobody can decode, on the calls topic; each consumer of calls must dead-letter them and move on.
  const poisonKeys = Array.from({ length: o.poison }, (_, i) => `${siteId}:chaos-poison-${i}`);
  if (poisonKeys.length > 0) {
    await platform.bus.producer.sendRaw(
      topicName('calls', o.prefix),
      poisonKeys.map((key) => ({ key, value: Buffer.from(`not a protobuf envelope ${key}`), headers: {} })),
    );
  }

  const traffic = new ChaosTraffic({
    trackerUrl: platform.url('session-tracker'),
    telephonyUrl: platform.url('telephony-ingest'),
    siteId,
    defaultNumber,
    webhookSecret,
    spamCallers,
    visitsPerSecond: o.visitsPerSecond,
    callsPerSecond: o.callsPerSecond,
    spamShare: 0.1,
    duplicateShare: 0.2,
    heartbeatMs: 2000,
    requestTimeoutMs: 30_000,
    answerLimitMs: o.answerLimitMs,
    providerRetryMs: 120_000,
    random,
  });
  monitor.start();
  const trafficStart = Date.now();
  traffic.start();
  log('traffic started');
  const plan = faultPlan();
  // Faults spread over the middle of the traffic window; each waits for the previous one to be over.
  for (const [k, [kind, target]] of plan.entries()) {
    const at = trafficStart + o.seconds * 1000 * (0.1 + (0.75 * k) / plan.length);
    await sleep(at - Date.now());
    await runFault(kind, target);
  }
  const lastFaultMs = Math.max(...faults.map((f) => f.doneMs));
  await sleep(trafficStart + o.seconds * 1000 - Date.now());
  log('traffic stopping; waiting for started visits and calls to finish');
  await traffic.stop();
  const trafficEnd = Date.now();
  log(`traffic done: ${traffic.sessionStarts.length} session starts, ${traffic.calls.size} calls`);

  // ---- quiet ----
  const kafka = createKafka({ brokers: [broker.brokers], clientId: 'chaos-checker', prefix: o.prefix }, createLogger('chaos', 'error'));
  const admin = kafka.admin();
  await admin.connect();
  let quietAtMs;
  let lastSnapshot;
  const quietDeadline = Date.now() + o.quietTimeoutSeconds * 1000;
  while (Date.now() < quietDeadline) {
    lastSnapshot = await quietSnapshot(admin, o.prefix).catch((err) => ({ quiet: false, error: err.message, lagging: [], grew: [] }));
    const ready = lastSnapshot.quiet ? await allReady(1000) : { ok: false };
    if (lastSnapshot.quiet && ready.ok) {
      quietAtMs = Date.now();
      break;
    }
    await sleep(1000);
  }
  log(
    quietAtMs
      ? `quiet ${((quietAtMs - lastFaultMs) / 1000).toFixed(1)} s after the last fault`
      : `NOT quiet after ${o.quietTimeoutSeconds} s: ` +
          `lagging ${JSON.stringify(lastSnapshot?.lagging?.map((g) => [g.name, g.lagByTopic]))}, growing ${JSON.stringify(lastSnapshot?.grew)}`,
  );
  await monitor.stop();

  // ---- checks ----
  const rows = [];
  const row = (check, value, ok, detail = '') => rows.push({ check, value, ok, detail });
  const details = {};

  // Calls: what the provider sent and got acknowledged vs what attribution stored (REST).
  const calls = [...traffic.calls.values()];
  const acked = calls.filter((c) => c.finalAcked);
  const stored = new Map();
  let next = 0;
  await Promise.all(
    Array.from({ length: 6 }, async () => {
      while (next < calls.length) {
        const c = calls[next++];
        const r = await get(`${platform.url('attribution')}/v1/sites/${siteId}/calls/${encodeURIComponent(c.callId)}`, 30_000);
        if (r.status === 200) stored.set(c.callId, r.body);
        else if (r.status !== 404) throw new Error(`attribution answered ${r.status} for ${c.callId}: ${JSON.stringify(r.body)}`);
      }
    }),
  );
  const lost = acked.filter((c) => !stored.has(c.callId));
  const notFinal = acked.filter((c) => stored.has(c.callId) && (!stored.get(c.callId).is_final || stored.get(c.callId).status !== c.finalStatus));
  details.lost = lost.map((c) => c.callId);
  details.notFinal = notFinal.map((c) => `${c.callId}: sent ${c.finalStatus}, stored ${stored.get(c.callId).status} final=${stored.get(c.callId).is_final}`);
  // Duplicates: every row of the run's window through the list endpoint (FINAL), and the channel report's call count.
  const listed = await listCalls(trafficStart - 60_000, Date.now() + 60_000);
  const perId = new Map();
  for (const r of listed) perId.set(r.call_id, (perId.get(r.call_id) ?? 0) + 1);
  const duplicateRows = [...perId.values()].reduce((a, n) => a + n - 1, 0);
  const report = await get(
    `${platform.url('attribution')}/v1/sites/${siteId}/report/channels` +
      `?from=${new Date(trafficStart - 60_000).toISOString()}&to=${new Date(Date.now() + 60_000).toISOString()}`,
    30_000,
  );
  const reportCalls = report.status === 200 ? report.body.rows.reduce((a, r) => a + Number(r.calls ?? 0) + Number(r.spam_calls ?? 0), 0) : NaN;
  const unknownStored = [...perId.keys()].filter((id) => !calls.some((c) => c.callId === id));
  row(
    'calls sent / final report acknowledged',
    `${calls.length} / ${acked.length}`,
    null,
    `${calls.filter((c) => !c.finalAcked).length} never acknowledged (provider gave up or refused)`,
  );
  row('acknowledged calls lost', lost.length, lost.length === 0);
  row('acknowledged calls not in their final state', notFinal.length, notFinal.length === 0);
  row('calls stored twice (list rows - distinct)', duplicateRows, duplicateRows === 0);
  row(
    'channel report calls - distinct stored calls',
    Number.isNaN(reportCalls) ? `report ${report.status}` : reportCalls - perId.size,
    reportCalls === perId.size,
  );
  row('stored calls nobody sent', unknownStored.length, unknownStored.length === 0);

  // Spam: every call from a blocked caller judged spam; none exported.
  const spamCalls = calls.filter((c) => c.spam && stored.has(c.callId));
  const spamMissed = spamCalls.filter((c) => stored.get(c.callId).verdict !== 'spam');
  row('calls from blocked callers not judged spam', `${spamMissed.length} of ${spamCalls.length}`, spamMissed.length === 0);

  // Export: receiver-side distinct keys = final, clean, inbound stored calls.
  const keyOf = (c) => `${siteId}:${c.callId}`;
  const received = new Map();
  for (const r of receiver.received) received.set(r.idempotencyKey, (received.get(r.idempotencyKey) ?? 0) + 1);
  const exportable = calls.filter((c) => stored.get(c.callId)?.is_final && stored.get(c.callId).verdict !== 'spam');
  const notDelivered = exportable.filter((c) => !received.has(keyOf(c)));
  const spamExported = calls.filter((c) => (c.spam || stored.get(c.callId)?.verdict === 'spam') && received.has(keyOf(c)));
  const exportedUnknown = [...received.keys()].filter((k) => !exportable.some((c) => keyOf(c) === k) && !spamExported.some((c) => keyOf(c) === k));
  const resends = receiver.received.length - received.size;
  details.notDelivered = notDelivered.map((c) => c.callId);
  row('final clean calls / distinct keys delivered', `${exportable.length} / ${received.size}`, null);
  row('final clean calls not delivered', notDelivered.length, notDelivered.length === 0);
  row('spam calls exported', spamExported.length, spamExported.length === 0);
  row('exports of calls not final/clean/known', exportedUnknown.length, exportedUnknown.length === 0);
  row('export resends (receiver deduplicates)', resends, null);
  row('receiver refusals (contract violations)', receiver.rejected.length, receiver.rejected.length === 0);

  // Leases: number-pool's event log replayed through the ledger; grants after the request's deadline.
  const ledger = new LeaseLedger();
  const grants = [];
  const expiredRejections = [];
  const givenBack = new Set();
  await platform.bus.replay(
    ['poolEvents'],
    (r) => {
      ledger.apply(r.event);
      if (r.event?.siteId !== siteId) return;
      if (r.event.type === 'LeaseGranted') grants.push(r.event.payload);
      else if (r.event.type === 'LeaseRejected' && r.event.payload.reason === 'expired') expiredRejections.push(r.event.payload);
      else if (r.event.type === 'LeaseExpired' && r.event.payload.reason === 'undelivered') givenBack.add(r.event.payload.leaseId);
    },
    { onRestart: () => undefined },
  );
  const answeredTwice = ledger.violations.filter((v) => v.includes('answered twice'));
  const doubleLeased = ledger.violations.filter((v) => !v.includes('answered twice'));
  details.leaseViolations = ledger.violations.slice(0, 50);
  // Every grant carries its request's deadline (LeaseGranted.request_deadline_ms, issue 10 §3):
  // number-pool must never grant after it, and no call may be credited to such a grant.
  const afterDeadline = new Map();
  // A grant its visitor was not shown (the session's answer was the default number, an error
  // or nothing): fine when session-tracker gave it back (LeaseExpired "undelivered") or nobody
  // dialled it; a call credited to it is a call credited to a visit that never saw the number.
  const notShown = new Map();
  for (const g of grants) {
    const deadline = Number(g.requestDeadlineMs);
    if (!(deadline > 0) || Number(g.grantedAtMs) > deadline)
      afterDeadline.set(g.leaseId, { sessionId: g.sessionId, grantedAtMs: Number(g.grantedAtMs), requestDeadlineMs: deadline });
    const s = traffic.sessions.get(g.sessionId);
    if (s !== undefined && s.leaseId === g.leaseId) continue;
    notShown.set(g.leaseId, {
      sessionId: g.sessionId,
      answered: s ? (s.fallback ? `default number (${s.reason})` : 'another lease') : 'no session answer',
      givenBack: givenBack.has(g.leaseId),
      grantedAfterRequestMs: s ? Number(g.grantedAtMs) - s.requestAtMs : undefined,
    });
  }
  const storedRows = [...stored.values()];
  const creditedAfterDeadline = storedRows.filter((r) => r.lease_id && afterDeadline.has(r.lease_id));
  const creditedNotShown = storedRows.filter((r) => r.lease_id && notShown.has(r.lease_id));
  details.grantedAfterDeadline = [...afterDeadline.entries()].slice(0, 50).map(([id, v]) => `${id} ${JSON.stringify(v)}`);
  details.creditedAfterDeadline = creditedAfterDeadline.map((r) => `${r.call_id} → lease ${r.lease_id} ${JSON.stringify(afterDeadline.get(r.lease_id))}`);
  details.creditedNotShown = creditedNotShown.map((r) => `${r.call_id} → lease ${r.lease_id} ${JSON.stringify(notShown.get(r.lease_id))}`);
  details.notShown = [...notShown.entries()].slice(0, 50).map(([id, v]) => `${id} ${JSON.stringify(v)}`);
  const notShownKept = [...notShown.values()].filter((v) => !v.givenBack).length;
  row(
    'leases granted / rejected',
    `${ledger.grants} / ${ledger.rejections}`,
    null,
    `${expiredRejections.length} rejected as expired (reached number-pool after their deadline)`,
  );
  row('numbers leased to two live sessions', doubleLeased.length, doubleLeased.length === 0);
  row(
    'lease requests answered twice',
    answeredTwice.length,
    answeredTwice.length === 0,
    `${ledger.redelivered} answers read again with the same event id (a publish retried after an unacknowledged send: the same answer, not a second one)`,
  );
  row(
    "leases granted after their request's deadline",
    afterDeadline.size,
    afterDeadline.size === 0,
    'LeaseGranted.granted_at_ms > request_deadline_ms (or no deadline)',
  );
  row("calls credited to a lease granted after its request's deadline", creditedAfterDeadline.length, creditedAfterDeadline.length === 0);
  row(
    'leases granted to visitors not shown them',
    notShown.size,
    null,
    `${notShown.size - notShownKept} given back as undelivered, ${notShownKept} not (no answer, or session-tracker restarted)`,
  );
  row('calls credited to a lease its visitor was not shown', creditedNotShown.length, creditedNotShown.length === 0);

  // Dead letters: only the injected poison, and every consumer of calls dead-lettered each poison record.
  const topics = (await listTopics(admin)).filter((t) => t.startsWith(o.prefix));
  const dlqTopics = topics.filter((t) => t.endsWith('.dlq'));
  const dead = await readTopics(kafka, o.prefix, dlqTopics);
  const poison = new Set(poisonKeys);
  const unexpected = dead.filter((r) => !poison.has(r.key));
  details.unexpectedDeadLetters = unexpected.slice(0, 50).map((r) => ({
    topic: r.topic.slice(o.prefix.length),
    key: r.key,
    reason: r.headers.dlq_reason,
    group: r.headers.dlq_consumer_group,
    error: r.headers.dlq_error,
  }));
  const finalGroups = (await consumerGroups(admin, o.prefix)).groups;
  const callsTopic = topicName('calls', o.prefix);
  const callsReaders = finalGroups.filter((g) => !g.perInstance && g.topics.includes(callsTopic)).map((g) => g.groupId);
  const poisonMissing = [];
  for (const key of poisonKeys)
    for (const group of callsReaders) if (!dead.some((r) => r.key === key && r.headers.dlq_consumer_group === group)) poisonMissing.push(`${key} by ${group}`);
  row(
    'dead letters not injected',
    unexpected.length,
    unexpected.length === 0,
    [...new Set(unexpected.map((r) => `${r.topic.slice(o.prefix.length)}/${r.headers.dlq_reason}`))].join(', '),
  );
  row(
    'injected poison not dead-lettered',
    `${poisonMissing.length} (${poisonKeys.length} records × ${callsReaders.length} groups)`,
    poisonMissing.length === 0,
  );

  // Lag and consumers.
  const lagging = countedGroups(finalGroups).filter((g) => g.lag > 0);
  const leftovers = finalGroups.filter((g) => g.perInstance && g.members === 0);
  details.groups = finalGroups.map((g) => ({ name: g.name, state: g.state, members: g.members, lag: g.lag, lagByTopic: g.lagByTopic }));
  row(
    'consumer lag (shared groups, live per-instance groups)',
    lagging.reduce((a, g) => a + g.lag, 0),
    lagging.length === 0,
    lagging.map((g) => `${g.name}=${g.lag}`).join(', '),
  );
  row('per-instance groups left without members', leftovers.length, null, `lag ${leftovers.reduce((a, g) => a + g.lag, 0)} (not counted)`);
  const finalReady = await Promise.all(
    Object.entries(allServices()).map(async ([n, s]) => [n, await get(`${s.url}/healthz`, 5000), await get(`${s.url}/readyz`, 5000)]),
  );
  const deadConsumers = finalReady
    .filter(([, h, r]) => h.status === 200 && r.status !== 200)
    .map(
      ([n, , r]) =>
        `${n}: ${Object.entries(r.body?.checks ?? {})
          .filter(([, v]) => !v)
          .map(([k]) => k)
          .join(',')}`,
    );
  row('services live but not ready at the end', deadConsumers.length, deadConsumers.length === 0, deadConsumers.join('; '));
  const longest = Object.entries(monitor.state)
    .map(([n, s]) => [n, s.longestUnreadyMs, Object.keys(s.failing)])
    .sort((a, b) => b[1] - a[1]);
  const tooLong = longest.filter(([, ms]) => ms > o.unreadyLimitSeconds * 1000);
  row(
    `services live but unready > ${o.unreadyLimitSeconds} s on the way`,
    tooLong.length,
    tooLong.length === 0,
    `longest ${longest[0] ? `${(longest[0][1] / 1000).toFixed(0)} s (${longest[0][0]}${longest[0][2].length ? `: ${longest[0][2].join(',')}` : ''})` : '-'}; ` +
      `not while its own restart or a broker outage lasts`,
  );
  row('processes that exited on their own', monitor.exits.length, null, monitor.exits.map((e) => e.name).join(', '));
  const unrecovered = faults.filter((f) => !f.recoveredMs);
  row(
    'faults after which not every service was ready in time',
    unrecovered.length,
    unrecovered.length === 0,
    unrecovered.map((f) => `${f.kind} ${f.target}`).join(', '),
  );
  row(
    'time from the last fault to quiet',
    quietAtMs ? `${((quietAtMs - lastFaultMs) / 1000).toFixed(1)} s` : `not quiet in ${o.quietTimeoutSeconds} s`,
    Boolean(quietAtMs),
    quietAtMs ? `${((quietAtMs - trafficEnd) / 1000).toFixed(1)} s after the traffic ended` : '',
  );

  // Client-side: what the visitors and the provider were answered (503 is allowed during outages; hangs are not).
  const c = traffic.counters;
  row('session starts answered', JSON.stringify(c.sessionAnswers), null, `slowest ${(c.slowestMs.session / 1000).toFixed(1)} s`);
  row(
    'webhooks answered',
    JSON.stringify(c.webhookAnswers),
    null,
    `slowest ${(c.slowestMs.webhook / 1000).toFixed(1)} s, ${c.providerRetries} provider retries, ${c.resends} resends`,
  );
  const hangs = c.slow.session + c.slow.webhook + c.slow.heartbeat;
  row(
    `requests answered after ${o.answerLimitMs / 1000} s or never`,
    hangs,
    hangs === 0,
    `session starts ${c.slow.session}, heartbeats ${c.slow.heartbeat}, webhooks ${c.slow.webhook} (a 503 is the promised answer during an outage)`,
  );
  if (c.driverErrors) row('driver errors', c.driverErrors, false, traffic.lastDriverError?.slice(0, 200));

  await admin.disconnect();
  const violations = rows.filter((r) => r.ok === false);
  const table = formatTable(rows);
  process.stdout.write(`\n${table}\n\n`);
  const result = { runId, options: o, trafficSeconds: (trafficEnd - trafficStart) / 1000, faults, rows, details, monitor: monitor.state, exits: monitor.exits };
  const file = join(o.outDir, 'result.json');
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  log(`${violations.length === 0 ? 'no violations' : `${violations.length} violation(s)`}; details in ${file}`);
  return violations.length === 0 ? 0 : 1;
}

/** Every stored call of the site whose start is in [from, to), through the list endpoint (at most 1000 a page: the window is halved until a page fits). */
async function listCalls(fromMs, toMs) {
  const r = await get(
    `${platform.url('attribution')}/v1/sites/${siteId}/calls?from=${new Date(fromMs).toISOString()}&to=${new Date(toMs).toISOString()}&limit=1000`,
    30_000,
  );
  if (r.status !== 200) throw new Error(`attribution's call list answered ${r.status}: ${JSON.stringify(r.body)}`);
  if (r.body.calls.length < 1000 || toMs - fromMs < 2) return r.body.calls;
  const mid = Math.floor((fromMs + toMs) / 2);
  return [...(await listCalls(fromMs, mid)), ...(await listCalls(mid, toMs))];
}

function formatTable(rows) {
  const w = [Math.max(...rows.map((r) => r.check.length)), Math.max(...rows.map((r) => String(r.value).length)), 4];
  const line = (a, b, c, d) => `${a.padEnd(w[0])}  ${b.padStart(w[1])}  ${c.padEnd(w[2])}  ${d}`.trimEnd();
  return [
    line('check', 'value', 'ok', 'note'),
    line('-'.repeat(w[0]), '-'.repeat(w[1]), '----', ''),
    ...rows.map((r) => line(r.check, String(r.value), r.ok === null ? '' : r.ok ? 'ok' : 'FAIL', r.detail ?? '')),
  ].join('\n');
}

async function cleanup() {
  await monitor.stop().catch(() => undefined);
  await Promise.all(Object.values(allServices()).map((s) => s.stop().catch(() => undefined)));
  await platform?.bus?.close().catch(() => undefined);
  await receiver.stop().catch(() => undefined);
  await broker.destroy({ keep: o.keep }).catch((err) => log(`stopping the broker failed: ${err.message}`));
  if (!o.keep) rmSync(o.dataDir, { recursive: true, force: true });
}

let code;
let cleaning = false;
const onSignal = (sig) => {
  if (cleaning) return;
  cleaning = true;
  log(`${sig}: stopping everything`);
  void cleanup().finally(() => process.exit(130));
};
process.on('SIGINT', () => onSignal('SIGINT'));
process.on('SIGTERM', () => onSignal('SIGTERM'));
try {
  code = await main();
} catch (err) {
  log(`chaos run failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  code = 2;
}
if (!cleaning) {
  cleaning = true;
  await cleanup();
  log(`stopped the services and the broker${o.keep ? ` (kept ${o.kafkaHome} and ${o.dataDir})` : `; deleted ${o.kafkaHome} and ${o.dataDir}`}`);
  process.exit(code);
}
