// libs/kafka's publish deadline on the real broker, behind a proxy switched to black-hole:
// publishes fail with PublishUnavailableError at the deadline instead of hanging, a record
// that was still queued is never sent afterwards, and publishing works again after the outage.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createEvent } from '@calltrack/contracts';
import { KafkaBus, PublishUnavailableError } from '@calltrack/kafka';
import { createKafkaTestEnv, freePort, KafkaOutageProxy, testLogger, TopicProbe, waitFor, type KafkaTestEnv } from './index.js';

const DEADLINE_MS = 800;

describe('EventProducer publish deadline on the real broker', () => {
  let env: KafkaTestEnv;
  let proxy: KafkaOutageProxy;
  let bus: KafkaBus;
  let probe: TopicProbe;

  before(async () => {
    env = await createKafkaTestEnv('publish-deadline-lib');
    proxy = await KafkaOutageProxy.start(env.brokers);
    bus = new KafkaBus({ ...env.settings, brokers: [proxy.brokers], clientId: 'publish-deadline-test', publishTimeoutMs: DEADLINE_MS }, testLogger);
    await bus.connect();
    probe = await TopicProbe.start(env, ['antifraudBlocklist']);
  });
  after(async () => {
    await proxy.close();
    await probe.stop();
    await bus.close();
  });

  const event = (phone: string) => createEvent('CallerBlocked', { phone, reason: 'deadline test' }, { siteId: 'site-deadline', producer: 'test' });
  const failure = async (p: Promise<void>): Promise<PublishUnavailableError> => {
    try {
      await p;
    } catch (err) {
      assert.ok(err instanceof PublishUnavailableError, `a PublishUnavailableError, got ${String(err)}`);
      return err;
    }
    assert.fail('the publish succeeded while the broker was black-holed');
  };

  it('fails at the deadline while the broker does not answer, drops what was still queued, and recovers', async () => {
    await bus.producer.publish('antifraudBlocklist', 'one-key', event('+74950000001'));
    proxy.blackHole();
    const started = Date.now();
    // The first goes in flight (and may still land after the outage); the second waits behind it in the queue.
    const inFlight = bus.producer.publish('antifraudBlocklist', 'one-key', event('+74950000002'));
    const queued = event('+74950000003');
    const queuedPublish = bus.producer.publish('antifraudBlocklist', 'one-key', queued);
    const [a, b] = await Promise.all([failure(inFlight), failure(queuedPublish)]);
    const elapsed = Date.now() - started;
    assert.equal(a.timedOut, true);
    assert.equal(b.timedOut, true);
    assert.ok(a.retryAfterSeconds > 0);
    // Without a deadline kafkajs keeps retrying for tens of seconds; the slack is for a busy machine.
    assert.ok(elapsed < DEADLINE_MS + 3000, `failed after ${elapsed} ms (deadline ${DEADLINE_MS} ms)`);

    proxy.restore();
    const after = event('+74950000004');
    await waitFor(
      async () => {
        try {
          await bus.producer.publish('antifraudBlocklist', 'one-key', after);
          return true;
        } catch (err) {
          if (err instanceof PublishUnavailableError) return undefined;
          throw err;
        }
      },
      { what: 'publishing to work again', timeoutMs: 60_000 },
    );
    const seen = await waitFor(
      () => {
        const got = probe.events('antifraudBlocklist');
        return got.some((e) => e.eventId === after.eventId) ? got : undefined;
      },
      { what: 'the event published after the outage' },
    );
    // Same key, same partition, one producer in order: had the queued record been sent, it would be before this one.
    assert.ok(!seen.some((e) => e.eventId === queued.eventId), 'the record still queued at its deadline was never sent');
  });

  it('a producer started before its broker answers waits, then connects and publishes (a service starting on a busy machine does not exit)', async () => {
    // Nothing listens on the port yet: every attempt is refused, which is transient.
    const port = await freePort();
    const early = new KafkaBus({ ...env.settings, brokers: [`127.0.0.1:${port}`], clientId: 'publish-deadline-early', publishTimeoutMs: 5_000 }, testLogger);
    let connected = false;
    const connecting = early.connect().then(() => (connected = true));
    try {
      await waitFor(() => early.producer.connectAttempts >= 2, { what: 'a second connection attempt after a refusal', timeoutMs: 60_000 });
      assert.equal(connected, false);
      const late = await KafkaOutageProxy.start(env.brokers, port);
      try {
        await connecting;
        const e = event('+74951110003');
        await early.producer.publish('antifraudBlocklist', 'late-broker', e);
        await waitFor(() => probe.events('antifraudBlocklist').find((r) => r.eventId === e.eventId), { what: 'the record published after the late connect' });
      } finally {
        await late.close();
      }
    } finally {
      await early.close();
    }
  });
});
