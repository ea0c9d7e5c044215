import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { callKey } from '@calltrack/contracts';
import { KafkaBus } from '@calltrack/kafka';
import type { RunningService } from '@calltrack/service-kit';
import { ConversionReceiver, createKafkaTestEnv, sleep, testLogger, TopicProbe, waitFor, type KafkaTestEnv } from '@calltrack/testing';
import { attributedCall } from './attributed-call.fixture.js';
import { loadConversionExportConfig, SERVICE_NAME } from './config.js';
import { startConversionExport } from './conversion-export.app.js';
import { ExportService } from './export.service.js';

const SECRET = 'export-secret-0123456789abcdef';
// Shorter than the default 15 s, to keep the test fast, but not the broker's smallest (6 s), which
// a busy machine's scheduling delays alone come near. The faults below last several of them.
const SESSION_TIMEOUT_MS = 10_000;
// How long the endpoint is down in the outage test; EXPORT_TEST_OUTAGE_MS=120000 for the two minutes.
const OUTAGE_MS = Math.max(2 * SESSION_TIMEOUT_MS, Number(process.env['EXPORT_TEST_OUTAGE_MS'] ?? 25_000));

/**
 * Faults that used to stall conversion-export for good: a poison conversion (an id a header
 * cannot carry, a conversion the endpoint refuses) and an endpoint down for several session
 * timeouts. The service runs with its default delivery policy (6 attempts, 500 ms backoff:
 * 15.5 s of retries, more than the session timeout) and a short session timeout.
 */
describe('conversion-export under poison records and a long outage', () => {
  let env: KafkaTestEnv;
  let bus: KafkaBus;
  let probe: TopicProbe;
  let receiver: ConversionReceiver;
  let service: RunningService;
  let exporter: ExportService;
  const published = new Map<string, number>();

  const attributed = attributedCall;
  /** `key` overrides the record key (the call key): records with one key share a partition. */
  const publish = async (callId: string, key = callKey('shop', callId)) => {
    const e = attributed(callId);
    published.set(callId, Date.now());
    await bus.producer.publish('attributedCalls', key, e);
    return e;
  };
  /** Delivery latency of calls (receiver's acceptance minus publish time), in ms. */
  const latencies = (ids: string[]) => ids.map((id) => receiver.forCall(id)[0]!.atMs - published.get(id)!).sort((a, b) => a - b);
  const figures = (l: number[]) => `median ${l[Math.floor(l.length / 2)]} ms, max ${l[l.length - 1]} ms over ${l.length} calls`;
  const admin = () => env.kafka.admin();
  /** Committed offsets of the main group trail the end of attributed-calls by this many records. */
  const lag = async (): Promise<number> => {
    const a = admin();
    await a.connect();
    try {
      const topic = env.topic('attributedCalls');
      const ends = await a.fetchTopicOffsets(topic);
      const [committed] = await a.fetchOffsets({ groupId: `${env.prefix}${SERVICE_NAME}`, topics: [topic] });
      let behind = 0;
      for (const end of ends) {
        const c = committed!.partitions.find((p) => p.partition === end.partition);
        const at = c && Number(c.offset) >= 0 ? Number(c.offset) : 0;
        behind += Number(end.offset) - at;
      }
      return behind;
    } finally {
      await a.disconnect();
    }
  };
  /** Member ids of the main and retry-tier groups: an evicted member rejoins under a new id. */
  const members = async (): Promise<string[]> => {
    const a = admin();
    await a.connect();
    try {
      const group = `${env.prefix}${SERVICE_NAME}`;
      const { groups } = await a.describeGroups([group, `${group}.retry`]);
      return groups.flatMap((g) => g.members.map((m) => `${g.groupId}/${m.memberId}`)).sort();
    } finally {
      await a.disconnect();
    }
  };

  before(async () => {
    env = await createKafkaTestEnv('export-faults');
    bus = new KafkaBus({ ...env.settings, clientId: 'export-faults-test' }, testLogger);
    await bus.connect();
    probe = await TopicProbe.start(env, ['exportDeliveries', { dlq: 'attributedCalls' }]);
    receiver = await new ConversionReceiver(SECRET).start();
    const config = loadConversionExportConfig({
      ...env.env,
      ADMIN_TOKEN: 'export-admin-token-0123456789',
      PORT: '0',
      HTTP_HOST: '127.0.0.1',
      LOG_LEVEL: process.env['TEST_LOG'] ?? 'silent',
      KAFKA_SESSION_TIMEOUT_MS: String(SESSION_TIMEOUT_MS),
      EXPORT_WEBHOOK_URL: receiver.url,
      EXPORT_WEBHOOK_SECRET: SECRET,
      // Retry tiers that together outlast the outage, so nothing is dead-lettered by it.
      EXPORT_RETRY_DELAYS_MS: [1, 2, 4, 8, 16].map((s) => Math.ceil((s * OUTAGE_MS) / 16)).join(','),
    });
    service = await startConversionExport(config);
    exporter = service.app.get(ExportService);
    // Both groups joined: the main one reported its assignment, the retry tier is a member.
    await waitFor(async () => exporter.groupJoins >= 1 && (await members()).length === 2, { what: 'groups joined', timeoutMs: 60_000 });
  });

  after(async () => {
    await service.close();
    await receiver.stop();
    await probe.stop();
    await bus.close();
  });

  it('delivers an emoji id with an encoded key, dead-letters a refused conversion at once, and the other calls flow meanwhile', async (t) => {
    const joins = exporter.groupJoins;
    const memberIds = await members();
    receiver.scripted.set('generic:refused', [400]);
    const refused = await publish('generic:refused');
    const poison = ['telnyx:😀', 'mango:é-ß', 'zadarma:Жук 1\r\n"%41"'];
    for (const id of poison) await publish(id);
    const flow: string[] = [];
    for (let i = 0; i < 20; i += 1) {
      flow.push(`generic:flow-${i}`);
      await publish(`generic:flow-${i}`);
      await sleep(100);
    }
    await waitFor(() => [...poison, ...flow].every((id) => receiver.forCall(id).length > 0), { what: 'every call delivered', timeoutMs: 60_000 });
    const dead = await waitFor(() => probe.deadLetters('attributedCalls').find((r) => r.headers['event_id'] === refused.eventId), {
      what: 'the refused conversion dead-lettered',
    });
    assert.equal(dead.headers['dlq_reason'], 'non_retriable');
    assert.match(dead.headers['dlq_error'] ?? '', /HTTP 400/);
    assert.equal(dead.headers['dlq_attempts'], '1');
    assert.deepEqual(receiver.scripted.get('generic:refused'), [], 'the refusal was asked once, not retried');
    assert.equal(dead.headers['retry_attempt'], undefined, 'and never parked');

    for (const id of [...poison, ...flow]) assert.equal(receiver.forCall(id).length, 1, `${JSON.stringify(id)} delivered once`);
    const emoji = receiver.forCall('telnyx:😀')[0]!;
    assert.equal(emoji.idempotencyKey, 'shop:telnyx:%F0%9F%98%80');
    assert.equal(decodeURIComponent(receiver.forCall(poison[2]!)[0]!.idempotencyKey), `shop:${poison[2]}`);
    assert.deepEqual(receiver.rejected, [], 'every delivery met the receiver contract');
    assert.equal(exporter.groupJoins, joins, 'no rebalance');
    assert.deepEqual(await members(), memberIds, 'no member was evicted');
    const l = latencies(flow);
    t.diagnostic(`calls behind a poison record: ${figures(l)}`);
    console.log(`[export-faults] poison: delivery latency of the other calls: ${figures(l)}`);
  });

  it(`keeps partitions moving while the endpoint answers 503 for ${OUTAGE_MS / 1000} s, then delivers every call exactly once`, async (t) => {
    const joins = exporter.groupJoins;
    const memberIds = await members();
    const before = receiver.distinctKeys().size;
    const duringOutage: string[] = [];
    receiver.outage = { status: 503, retryAfter: '1' };
    const outageStarted = Date.now();
    // Calls keep coming for the whole outage, about four a second.
    for (let i = 0; Date.now() - outageStarted < OUTAGE_MS; i += 1) {
      duringOutage.push(`generic:outage-${i}`);
      await publish(`generic:outage-${i}`);
      await sleep(250);
    }
    // Still down, yet every record was handled and committed (parked on the retry tier).
    await waitFor(async () => (await lag()) === 0, { what: 'committed offsets caught up during the outage', timeoutMs: 30_000 });
    assert.ok(receiver.outage, 'the endpoint is still down');
    const outageLasted = Date.now() - outageStarted;
    assert.ok(outageLasted >= 2 * SESSION_TIMEOUT_MS, `the outage lasted ${outageLasted} ms, at least twice the session timeout`);
    assert.ok(receiver.outageAnswers >= duringOutage.length, 'every call was tried during the outage');
    assert.equal(exporter.groupJoins, joins, 'no rebalance during the outage');
    assert.deepEqual(await members(), memberIds, 'no member was evicted during the outage');

    receiver.outage = undefined;
    const recovered = Date.now();
    const afterOutage: string[] = [];
    for (let i = 0; i < 10; i += 1) {
      afterOutage.push(`generic:after-${i}`);
      await publish(`generic:after-${i}`);
      await sleep(100);
    }
    const all = [...duringOutage, ...afterOutage];
    await waitFor(() => all.every((id) => receiver.forCall(id).length > 0), {
      what: 'every call delivered after the recovery',
      timeoutMs: 2 * OUTAGE_MS + 60_000,
    });
    const drained = Date.now() - recovered;
    await waitFor(async () => (await lag()) === 0, { what: 'committed offsets at the end' });

    for (const id of all) assert.equal(receiver.forCall(id).length, 1, `${id} delivered exactly once`);
    assert.equal(receiver.distinctKeys().size - before, all.length, 'receiver-side distinct keys = calls');
    assert.equal(
      probe.deadLetters('attributedCalls').filter((r) => r.key?.startsWith('shop:generic:outage-') || r.key?.startsWith('shop:generic:after-')).length,
      0,
      'nothing dead-lettered',
    );
    assert.equal(exporter.groupJoins, joins, 'no rebalance at all');
    assert.deepEqual(await members(), memberIds, 'no member was evicted');
    const fresh = latencies(afterOutage);
    t.diagnostic(
      `outage ${outageLasted} ms; backlog of ${duringOutage.length} calls delivered ${drained} ms after the recovery; new calls after it: ${figures(fresh)}`,
    );
    console.log(
      `[export-faults] outage ${outageLasted} ms (${duringOutage.length} calls parked, lag 0 while down); ` +
        `all delivered ${drained} ms after recovery; new calls after recovery: ${figures(fresh)}`,
    );
  });
  it('keeps partitions moving while the endpoint never answers (each attempt times out), with no eviction', async (t) => {
    const joins = exporter.groupJoins;
    const memberIds = await members();
    const before = receiver.outageAnswers;
    receiver.outage = { hang: true };
    const started = Date.now();
    // One burst on one partition, so that the records come in one batch: each costs a whole round
    // (a third of the session timeout), and the batch far more than the session timeout.
    const calls = Array.from({ length: 8 }, (_, i) => `generic:hang-${i}`);
    for (const id of calls) await publish(id, 'shop:one-partition');
    await waitFor(async () => (await lag()) === 0, { what: 'committed offsets caught up while the endpoint hangs', timeoutMs: 60_000 });
    const took = Date.now() - started;
    assert.ok('hang' in (receiver.outage ?? {}), 'the endpoint still hangs');
    assert.ok(receiver.outageAnswers - before >= calls.length, 'every call was tried');
    assert.ok(took >= 2 * SESSION_TIMEOUT_MS, `the records held the consumer ${took} ms, at least twice the session timeout`);
    assert.equal(exporter.groupJoins, joins, 'no rebalance while the endpoint hangs');
    assert.deepEqual(await members(), memberIds, 'no member was evicted');

    receiver.outage = undefined;
    await waitFor(() => calls.every((id) => receiver.forCall(id).length > 0), {
      what: 'every call delivered after the recovery',
      timeoutMs: 2 * OUTAGE_MS + 60_000,
    });
    await waitFor(async () => (await lag()) === 0, { what: 'committed offsets at the end' });
    for (const id of calls) assert.equal(receiver.forCall(id).length, 1, `${id} delivered exactly once`);
    assert.equal(exporter.groupJoins, joins, 'no rebalance at all');
    assert.deepEqual(await members(), memberIds, 'no member was evicted');
    t.diagnostic(`${calls.length} calls against a hanging endpoint handled and committed in ${took} ms`);
  });
  it('heartbeats through a batch of slow deliveries: no eviction, each delivered once', async (t) => {
    const joins = exporter.groupJoins;
    const memberIds = await members();
    // Each answer takes half the round: a success, so only the handler heartbeats in between.
    receiver.answerDelayMs = SESSION_TIMEOUT_MS / 6;
    const started = Date.now();
    const calls = Array.from({ length: 10 }, (_, i) => `generic:slow-${i}`);
    try {
      for (const id of calls) await publish(id, 'shop:one-partition-slow');
      await waitFor(() => calls.every((id) => receiver.forCall(id).length > 0), { what: 'slow deliveries done', timeoutMs: 60_000 });
    } finally {
      receiver.answerDelayMs = 0;
    }
    const took = Date.now() - started;
    await waitFor(async () => (await lag()) === 0, { what: 'committed offsets at the end' });
    assert.ok(took >= (calls.length * SESSION_TIMEOUT_MS) / 6, `the deliveries took ${took} ms`);
    for (const id of calls) assert.equal(receiver.forCall(id).length, 1, `${id} delivered exactly once`);
    assert.equal(exporter.groupJoins, joins, 'no rebalance');
    assert.deepEqual(await members(), memberIds, 'no member was evicted');
    t.diagnostic(`${calls.length} slow deliveries on one partition in ${took} ms`);
  });
});
