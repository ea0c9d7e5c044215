import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { calltrack, callKey, createEvent, type DomainEvent } from '@calltrack/contracts';
import { KafkaBus } from '@calltrack/kafka';
import type { RunningService } from '@calltrack/service-kit';
import { ConversionReceiver, createKafkaTestEnv, http, produceRaw, sleep, testLogger, TopicProbe, waitFor, type KafkaTestEnv } from '@calltrack/testing';
import { loadConversionExportConfig } from './config.js';
import { startConversionExport } from './conversion-export.app.js';

const { CallStatus, CallDirection, Verdict, MatchMethod } = calltrack.events.v1;
const ADMIN = 'export-admin-token-0123456789';
const SECRET = 'export-secret-0123456789abcdef';

describe('conversion-export on the real broker', () => {
  let env: KafkaTestEnv;
  let bus: KafkaBus;
  let probe: TopicProbe;
  let receiver: ConversionReceiver;
  let service: RunningService;
  const config = () =>
    loadConversionExportConfig({
      ...env.env,
      ADMIN_TOKEN: ADMIN,
      PORT: '0',
      HTTP_HOST: '127.0.0.1',
      LOG_LEVEL: process.env['TEST_LOG'] ?? 'silent',
      EXPORT_WEBHOOK_URL: receiver.url,
      EXPORT_WEBHOOK_SECRET: SECRET,
      EXPORT_INITIAL_BACKOFF_MS: '20',
      EXPORT_MAX_ATTEMPTS: '3',
      EXPORT_RETRY_DELAYS_MS: '300,600',
    });
  const attributed = (callId: string, opts: { final?: boolean; verdict?: number; direction?: number } = {}): DomainEvent<'CallAttributed'> =>
    createEvent(
      'CallAttributed',
      {
        call: {
          callId,
          callerNumber: '+79165554433',
          trackingNumber: '+74951000001',
          status: opts.final === false ? CallStatus.CALL_STATUS_RINGING : CallStatus.CALL_STATUS_COMPLETED,
          startedAtMs: Date.now() - 60_000,
          answeredAtMs: Date.now() - 55_000,
          endedAtMs: Date.now(),
          direction: opts.direction ?? CallDirection.CALL_DIRECTION_INBOUND,
        },
        verdict: opts.verdict ?? Verdict.VERDICT_CLEAN,
        method: MatchMethod.MATCH_METHOD_DYNAMIC,
        origin: { utm: { source: 'google' } },
        final: opts.final ?? true,
      },
      { siteId: 'shop', producer: 'test' },
    );
  const publish = (e: DomainEvent<'CallAttributed'>) => bus.producer.publish('attributedCalls', callKey('shop', e.payload.call?.callId ?? ''), e);
  const status = async (callId: string) =>
    (await http('GET', `${service.url}/v1/admin/sites/shop/deliveries/${callId}`, { headers: { authorization: `Bearer ${ADMIN}` } })).body;

  before(async () => {
    env = await createKafkaTestEnv('export');
    bus = new KafkaBus({ ...env.settings, clientId: 'export-test' }, testLogger);
    await bus.connect();
    probe = await TopicProbe.start(env, ['exportDeliveries', { dlq: 'attributedCalls' }]);
    receiver = await new ConversionReceiver(SECRET).start();
    service = await startConversionExport(config());
  });

  after(async () => {
    await service.close();
    await receiver.stop();
    await probe.stop();
    await bus.close();
  });

  it('delivers a final clean call exactly once, whatever is redelivered, and only final calls', async () => {
    const first = attributed('c1');
    await publish(attributed('c1', { final: false }));
    await publish(first);
    await publish(first);
    await publish(attributed('c1'));
    await waitFor(async () => (await status('c1')).status === 'delivered', { what: 'c1 delivered' });
    await sleep(500);
    assert.equal(receiver.forCall('c1').length, 1);
    const got = receiver.forCall('c1')[0]!;
    assert.equal(got.idempotencyKey, 'shop:c1');
    assert.equal(got.body['eventId'], first.eventId, 'the first final report is the one delivered');
    assert.deepEqual(receiver.rejected, []);

    await publish(attributed('c2', { final: false }));
    await sleep(500);
    assert.equal(receiver.forCall('c2').length, 0, 'a call still ringing is not a conversion');
  });

  it('never exports spam and records it as skipped', async () => {
    await publish(attributed('spam-1', { verdict: Verdict.VERDICT_SPAM }));
    await waitFor(async () => (await status('spam-1')).status === 'skipped', { what: 'spam skipped' });
    assert.equal((await status('spam-1')).reason, 'spam');
    assert.equal(receiver.forCall('spam-1').length, 0);
  });

  it('never exports an outbound call (a call-back is not a conversion)', async () => {
    await publish(attributed('out-1', { direction: CallDirection.CALL_DIRECTION_OUTBOUND }));
    await waitFor(async () => (await status('out-1')).status === 'skipped', { what: 'outbound skipped' });
    assert.equal((await status('out-1')).reason, 'outbound');
    assert.equal(receiver.forCall('out-1').length, 0);
  });

  it('retries a failing receiver with backoff and delivers once', async () => {
    receiver.scripted.set('c3', [503, 503]);
    await publish(attributed('c3'));
    const s = await waitFor(
      async () => {
        const r = await status('c3');
        return r.status === 'delivered' ? r : undefined;
      },
      { what: 'c3 delivered' },
    );
    assert.equal(s.attempts, 3);
    assert.equal(receiver.forCall('c3').length, 1);
  });

  it('parks a conversion the endpoint cannot take now and delivers it from the retry tier', async () => {
    receiver.scripted.set('c8', [500, 500, 500]);
    await publish(attributed('c8'));
    await publish(attributed('c8b'));
    await waitFor(async () => (await status('c8b')).status === 'delivered', { what: 'the next call, not held up by the parked one' });
    const s8 = await waitFor(
      async () => {
        const r = await status('c8');
        return r.status === 'delivered' ? r : undefined;
      },
      { what: 'c8 delivered from the retry tier' },
    );
    assert.equal(s8.attempts, 1, 'the second round succeeded at once');
    assert.equal(receiver.forCall('c8').length, 1);
    const failures = probe.events('exportDeliveries').filter((e) => e.type === 'ConversionFailed' && e.payload.callId === 'c8');
    assert.equal(failures.length, 1, 'the failed first round is on record');
  });

  it('dead-letters after the last retry tier, and at once when the endpoint refuses the conversion', async () => {
    receiver.scripted.set('c4', Array(9).fill(500));
    receiver.scripted.set('c9', [422]);
    const doomed = attributed('c4');
    const refused = attributed('c9');
    await publish(doomed);
    await publish(refused);
    await publish(attributed('c5'));
    await waitFor(async () => (await status('c5')).status === 'delivered', { what: 'c5 delivered' });
    const dead = await waitFor(
      () => {
        const d = probe.deadLetters('attributedCalls').filter((r) => r.headers['event_id'] === doomed.eventId || r.headers['event_id'] === refused.eventId);
        return d.length === 2 ? d : undefined;
      },
      { what: 'two dead letters', timeoutMs: 30_000 },
    );
    const d4 = dead.find((r) => r.headers['event_id'] === doomed.eventId)!;
    assert.equal(d4.headers['dlq_reason'], 'retries_exhausted');
    assert.equal(d4.headers['retry_attempt'], '2', 'it went through both retry tiers');
    assert.equal(d4.headers['retry_source_topic'], env.topic('attributedCalls'));
    assert.equal(d4.key, 'shop:c4');
    const d9 = dead.find((r) => r.headers['event_id'] === refused.eventId)!;
    assert.equal(d9.headers['dlq_reason'], 'non_retriable');
    assert.equal(d9.headers['retry_attempt'], undefined, 'a refusal is not retried later');
    const s4 = await status('c4');
    assert.equal(s4.status, 'failed');
    assert.match(s4.reason, /HTTP 500/);
    assert.equal((await status('c9')).status, 'failed');
    assert.equal(receiver.forCall('c4').length + receiver.forCall('c9').length, 0);
  });

  it('rebuilds what it delivered after a restart and does not deliver again', async () => {
    await service.close();
    service = await startConversionExport(config());
    await publish(attributed('c1'));
    await publish(attributed('c6'));
    await waitFor(async () => (await status('c6')).status === 'delivered', { what: 'c6 delivered' });
    assert.equal(receiver.forCall('c1').length, 1, 'c1 was not delivered a second time');
    assert.equal((await status('c1')).status, 'delivered');
  });

  it('dead-letters an undecodable record and goes on', async () => {
    await produceRaw(env, 'attributedCalls', [{ key: 'shop:junk', value: 'not an envelope' }]);
    await publish(attributed('c7'));
    await waitFor(async () => (await status('c7')).status === 'delivered', { what: 'c7 delivered' });
    const dead = await waitFor(() => probe.deadLetters('attributedCalls').find((r) => r.key === 'shop:junk'), { what: 'junk dead letter' });
    assert.equal(dead.headers['dlq_reason'], 'undecodable');
  });
});
