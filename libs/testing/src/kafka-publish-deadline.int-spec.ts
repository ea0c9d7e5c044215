// libs/kafka's publish deadline on the real broker, behind a proxy switched to black-hole:
// publishes fail with PublishUnavailableError at the deadline instead of hanging, a record
// that was still queued is never sent afterwards, and publishing works again after the outage.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createEvent } from '@calltrack/contracts';
import { KafkaBus, PublishUnavailableError } from '@calltrack/kafka';
import { createKafkaTestEnv, KafkaOutageProxy, testLogger, TopicProbe, waitFor, type KafkaTestEnv } from './index.js';

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
});
