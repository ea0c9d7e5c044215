// Integration tests of libs/kafka's consumer, kept here because libs/testing itself depends on libs/kafka.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createEvent, type AnyDomainEvent } from '@calltrack/contracts';
import { DLQ_HEADERS, KafkaBus, NonRetriableError } from '@calltrack/kafka';
import { createKafkaTestEnv, produceRaw, testLogger, TopicProbe, waitFor, type KafkaTestEnv } from './index.js';

const blocked = (phone: string, i: number) => createEvent('CallerBlocked', { phone, reason: `r${i}` }, { siteId: 'site-a', producer: 'test' });

describe('BatchConsumer on the real broker', () => {
  let env: KafkaTestEnv;
  let bus: KafkaBus;
  let probe: TopicProbe;

  before(async () => {
    env = await createKafkaTestEnv('kafka-lib');
    bus = new KafkaBus({ ...env.settings, clientId: 'kafka-lib-test', maxRetries: 2 }, testLogger);
    await bus.connect();
    probe = await TopicProbe.start(env, [{ dlq: 'antifraudBlocklist' }]);
  });
  after(async () => {
    await probe.stop();
    await bus.close();
  });

  it('commits only after flush succeeds: a failing store loses nothing and a restarted member does not redo committed work', async () => {
    const events = Array.from({ length: 20 }, (_, i) => blocked(`+7495000${String(i).padStart(4, '0')}`, i));
    await bus.producer.publishMany(events.map((event) => ({ topic: 'antifraudBlocklist' as const, key: event.payload.phone, event })));

    const stored = new Set<string>();
    let buffer: string[] = [];
    let flushFailures = 2;
    const first = bus.consumer({
      groupId: 'flush-group',
      topics: ['antifraudBlocklist'],
      fromBeginning: true,
      retryDelayMs: 20,
      handle: async (r) => void buffer.push(r.event.eventId),
      flush: async () => {
        if (flushFailures-- > 0) throw new Error('store unavailable');
        for (const id of buffer) stored.add(id);
        buffer = [];
      },
    });
    await first.start();
    await waitFor(() => stored.size === 20, { what: 'all 20 events stored' });
    assert.deepEqual([...stored].sort(), events.map((e) => e.eventId).sort());
    await first.stop();

    // A new member of the same group starts after the committed offsets: nothing is handled twice.
    const seenAgain: string[] = [];
    const second = bus.consumer({
      groupId: 'flush-group',
      topics: ['antifraudBlocklist'],
      fromBeginning: true,
      handle: async (r) => void seenAgain.push(r.event.eventId),
    });
    await second.start();
    await second.waitUntilReady();
    const more = blocked('+74950009999', 99);
    await bus.producer.publish('antifraudBlocklist', 'k', more);
    await waitFor(() => seenAgain.length >= 1, { what: 'the new event' });
    assert.deepEqual(seenAgain, [more.eventId]);
    await second.stop();
  });

  it('retries, then dead-letters a failing record with its original key, value and headers, and goes on', async () => {
    const poison = blocked('+74951111111', 1);
    const good = blocked('+74952222222', 2);
    const rejected = blocked('+74953333333', 3);
    const handled: string[] = [];
    const attempts = new Map<string, number>();
    const consumer = bus.consumer({
      groupId: 'dlq-group',
      topics: ['antifraudBlocklist'],
      fromBeginning: false,
      maxRetries: 2,
      retryDelayMs: 10,
      handle: async (r) => {
        attempts.set(r.event.eventId, (attempts.get(r.event.eventId) ?? 0) + 1);
        if (r.event.eventId === poison.eventId) throw new Error('downstream keeps failing');
        if (r.event.eventId === rejected.eventId) throw new NonRetriableError('invariant violated');
        handled.push(r.event.eventId);
      },
    });
    await consumer.start();
    await consumer.waitUntilReady();
    await bus.producer.publish('antifraudBlocklist', 'poison-key', poison);
    await bus.producer.publish('antifraudBlocklist', 'rejected-key', rejected);
    await bus.producer.publish('antifraudBlocklist', 'good-key', good);
    await waitFor(() => handled.includes(good.eventId), { what: 'the good record after the poison one' });
    assert.equal(attempts.get(poison.eventId), 3, 'one attempt plus two retries');
    assert.equal(attempts.get(rejected.eventId), 1, 'a non-retriable error is not retried');

    const dead = await waitFor(
      () => {
        const d = probe.deadLetters('antifraudBlocklist').filter((r) => r.key === 'poison-key' || r.key === 'rejected-key');
        return d.length === 2 ? d : undefined;
      },
      { what: 'two dead letters' },
    );
    const p = dead.find((r) => r.key === 'poison-key')!;
    assert.equal(p.headers[DLQ_HEADERS.reason], 'retries_exhausted');
    assert.equal(p.headers[DLQ_HEADERS.attempts], '3');
    assert.equal(p.headers[DLQ_HEADERS.sourceTopic], env.topic('antifraudBlocklist'));
    assert.match(p.headers[DLQ_HEADERS.error] ?? '', /downstream keeps failing/);
    assert.equal(p.headers['event_id'], poison.eventId, 'original headers are kept');
    assert.ok(p.value && p.value.length > 0);
    const r = dead.find((x) => x.key === 'rejected-key')!;
    assert.equal(r.headers[DLQ_HEADERS.reason], 'non_retriable');
    await consumer.stop();
  });

  it('dead-letters undecodable records and events that do not belong on the topic', async () => {
    const handled: AnyDomainEvent[] = [];
    const consumer = bus.consumer({
      groupId: 'decode-group',
      topics: ['antifraudBlocklist'],
      fromBeginning: false,
      handle: async (r) => void handled.push(r.event),
    });
    await consumer.start();
    await consumer.waitUntilReady();
    const wrongTopic = createEvent('SessionScreened', { sessionId: 's', visitorId: 'v', verdict: 1 }, { siteId: 'site-a', producer: 'test' });
    const { encodeEvent } = await import('@calltrack/contracts');
    await produceRaw(env, 'antifraudBlocklist', [
      { key: 'garbage', value: Buffer.from('{"this is":"not protobuf"}') },
      { key: 'empty', value: null },
      { key: 'wrong-topic', value: encodeEvent(wrongTopic) },
    ]);
    const ok = blocked('+74954444444', 4);
    await bus.producer.publish('antifraudBlocklist', 'ok', ok);
    await waitFor(() => handled.some((e) => e.eventId === ok.eventId), { what: 'the valid record' });
    const dead = await waitFor(
      () => {
        const d = probe.deadLetters('antifraudBlocklist').filter((x) => ['garbage', 'empty', 'wrong-topic'].includes(x.key ?? ''));
        return d.length === 3 ? d : undefined;
      },
      { what: 'three dead letters' },
    );
    assert.ok(dead.every((d) => d.headers[DLQ_HEADERS.reason] === 'undecodable'));
    assert.equal(dead.find((d) => d.key === 'garbage')?.value?.toString(), '{"this is":"not protobuf"}');
    assert.equal(handled.length, 1);
    await consumer.stop();
  });

  it('drains on shutdown: the batch in progress finishes and is committed before the member leaves', async () => {
    const slow = blocked('+74955555555', 5);
    let started!: () => void;
    const inHandler = new Promise<void>((r) => (started = r));
    const finished: string[] = [];
    const consumer = bus.consumer({
      groupId: 'drain-group',
      topics: ['antifraudBlocklist'],
      // From the beginning (the handler waits only for its record): with "latest", a record published
      // between the join and the first offset lookup would be skipped and the test would hang.
      fromBeginning: true,
      handle: async (r) => {
        if (r.event.eventId !== slow.eventId) return;
        started();
        await new Promise((res) => setTimeout(res, 700));
        finished.push(r.event.eventId);
      },
    });
    await consumer.start();
    await consumer.waitUntilReady();
    await bus.producer.publish('antifraudBlocklist', 'slow', slow);
    await inHandler;
    await consumer.stop();
    assert.deepEqual(finished, [slow.eventId], 'stop() waited for the handler');

    const redelivered: string[] = [];
    const next = bus.consumer({
      groupId: 'drain-group',
      topics: ['antifraudBlocklist'],
      fromBeginning: true,
      handle: async (r) => void redelivered.push(r.event.eventId),
    });
    await next.start();
    await next.waitUntilReady();
    const marker = blocked('+74956666666', 6);
    await bus.producer.publish('antifraudBlocklist', 'marker', marker);
    await waitFor(() => redelivered.includes(marker.eventId), { what: 'the marker' });
    assert.ok(!redelivered.includes(slow.eventId), 'the drained record was committed, not redelivered');
    await next.stop();
  });

  it('replays a topic from the beginning to its current end', async () => {
    const seen: string[] = [];
    const { records } = await bus.replay(['antifraudBlocklist'], (r) => {
      if (r.event) seen.push(r.event.eventId);
    });
    // 20 + 1 + 3 + 1 + 2 events were published above, plus 3 raw records: two undecodable (skipped)
    // and one decodable event of a foreign type (replay hands it over; state code ignores foreign types).
    assert.equal(records, 30);
    assert.equal(seen.length, 28);
    assert.equal(new Set(seen).size, 28);
  });
});

// Its own topics: the other tests count what their topics hold.
describe('BatchConsumer committing on an interval', () => {
  it('a consumer committing on an interval commits its last batch when traffic stops (no stale lag while idle)', async () => {
    const env = await createKafkaTestEnv('kafka-idle-commit');
    const bus = new KafkaBus({ ...env.settings, clientId: 'kafka-idle-commit-test' }, testLogger);
    await bus.connect();
    const round = async (n: number) => {
      const events = Array.from({ length: 5 }, (_, i) => blocked(`+749510${n}${String(i).padStart(4, '0')}`, i));
      await bus.producer.publishMany(events.map((event) => ({ topic: 'antifraudBlocklist' as const, key: event.payload.phone, event })));
      return events;
    };
    const seen = new Set<string>();
    const consumer = bus.consumer({
      groupId: 'idle-commit-group',
      topics: ['antifraudBlocklist'],
      fromBeginning: true,
      commitIntervalMs: 2000,
      handle: async (r) => void seen.add(r.event.eventId),
    });
    await consumer.start();
    // The first batch is committed at once (kafkajs starts its interval clock at zero); the second,
    // inside the interval, is the last before a quiet spell.
    const first = await round(1);
    await waitFor(() => first.every((e) => seen.has(e.eventId)), { what: 'the first five events handled' });
    const second = await round(2);
    await waitFor(() => second.every((e) => seen.has(e.eventId)), { what: 'the second five events handled' });
    // No record follows: kafkajs alone would leave the last batch uncommitted until the next one.
    const admin = env.kafka.admin();
    await admin.connect();
    try {
      const name = env.topic('antifraudBlocklist');
      const ends = new Map((await admin.fetchTopicOffsets(name)).map((p) => [p.partition, p.high]));
      await waitFor(
        async () => {
          const [committed] = await admin.fetchOffsets({ groupId: `${env.prefix}idle-commit-group`, topics: [name] });
          return committed!.partitions.every((p) => p.offset === ends.get(p.partition) || (ends.get(p.partition) === '0' && p.offset === '-1'));
        },
        { what: 'every partition committed up to its end while idle' },
      );
    } finally {
      await admin.disconnect();
      await consumer.stop();
      await bus.close();
    }
  });
});
