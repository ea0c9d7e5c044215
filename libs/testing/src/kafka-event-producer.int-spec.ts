// libs/kafka's producer on the real broker (kept here because libs/testing depends on libs/kafka).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createEvent } from '@calltrack/contracts';
import { KafkaBus } from '@calltrack/kafka';
import { createKafkaTestEnv, testLogger, TopicProbe, waitFor, type KafkaTestEnv } from './index.js';

describe('EventProducer on the real broker', () => {
  let env: KafkaTestEnv;
  let bus: KafkaBus;
  let probe: TopicProbe;

  before(async () => {
    env = await createKafkaTestEnv('kafka-producer');
    bus = new KafkaBus({ ...env.settings, clientId: 'kafka-producer-test', maxRetries: 2 }, testLogger);
    await bus.connect();
    probe = await TopicProbe.start(env, ['antifraudBlocklist']);
  });
  after(async () => {
    await probe.stop();
    await bus.close();
  });

  it('sends one publishMany larger than the broker accepts in one request (a backlog batch) in order, nothing refused', async () => {
    // 40 × ~60 KB on one key (one partition): 2.4 MB, over the broker's 1 MiB message.max.bytes in a single record batch.
    const events = Array.from({ length: 40 }, (_, i) =>
      createEvent(
        'CallerBlocked',
        { phone: `+7495100${String(i).padStart(4, '0')}`, reason: `${i}:${'x'.repeat(60_000)}` },
        { siteId: 'site-big', producer: 'test' },
      ),
    );
    await bus.producer.publishMany(events.map((event) => ({ topic: 'antifraudBlocklist' as const, key: 'one-key', event })));
    const received = await waitFor(
      () => {
        const got = probe.events('antifraudBlocklist');
        return got.length >= events.length ? got : undefined;
      },
      { what: 'all 40 events', timeoutMs: 30_000 },
    );
    assert.deepEqual(
      received.map((e) => e.eventId),
      events.map((e) => e.eventId),
    );
  });
});
