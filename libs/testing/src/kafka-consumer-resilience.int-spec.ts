// Integration tests of libs/kafka's consumer under slow and failing records, evictions, crashes
// and missing topics, on the real broker (short session timeout so evictions happen in seconds).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createEvent, topicName } from '@calltrack/contracts';
import { metricsRegistry } from '@calltrack/telemetry';
import { createKafka, deletePrefixedTopics, DLQ_HEADERS, KafkaBus, partitionOf, provisionTopics } from '@calltrack/kafka';
import { createKafkaTestEnv, sleep, testBrokers, testLogger, TopicProbe, waitFor, type KafkaTestEnv } from './index.js';

const SESSION_TIMEOUT_MS = 6_000; // the broker's minimum: evictions within seconds
const blocked = (phone: string) => createEvent('CallerBlocked', { phone, reason: 'test' }, { siteId: 'site-a', producer: 'test' });
/** A key of antifraud-blocklist (3 partitions) that lands on `partition`. */
const keyOn = (partition: number, tag: string): string => {
  for (let i = 0; ; i++) if (partitionOf(`${tag}-${i}`, 3) === partition) return `${tag}-${i}`;
};

describe('BatchConsumer resilience on the real broker', () => {
  let env: KafkaTestEnv;
  let bus: KafkaBus;
  let probe: TopicProbe;

  before(async () => {
    env = await createKafkaTestEnv('kafka-resilience');
    bus = new KafkaBus({ ...env.settings, clientId: 'kafka-resilience-test', sessionTimeoutMs: SESSION_TIMEOUT_MS }, testLogger);
    await bus.connect();
    probe = await TopicProbe.start(env, [{ dlq: 'antifraudBlocklist' }]);
  });
  after(async () => {
    await probe.stop();
    await bus.close();
  });

  it('a record slower than the session timeout on every attempt: no eviction, other partitions flow, then dead-lettered with reason and attempts', async () => {
    const poisonKey = keyOn(0, 'slow');
    const poison = blocked('+74951000001');
    let poisonAttempts = 0;
    let joins = 0;
    const handledAt = new Map<string, number>();
    const consumer = bus.consumer({
      groupId: 'slow-group',
      topics: ['antifraudBlocklist'],
      fromBeginning: true,
      partitionsConsumedConcurrently: 3,
      maxRetries: 2,
      // Backoffs of 4 s then 8 s: the partition is paused meanwhile and the batch released.
      retryDelayMs: 4_000,
      maxRecordMs: 120_000,
      onAssignment: () => void joins++,
      handle: async (r) => {
        if (r.event.eventId === poison.eventId) {
          poisonAttempts++;
          // Longer than the session timeout, without heartbeating itself: the consumer does it while the handler runs.
          await sleep(SESSION_TIMEOUT_MS + 1_000);
          throw new Error('endpoint keeps failing');
        }
        handledAt.set(r.event.eventId, Date.now());
      },
    });
    await consumer.start();
    await consumer.waitUntilReady();
    await bus.producer.publish('antifraudBlocklist', poisonKey, poison);
    await waitFor(() => poisonAttempts === 1, { what: 'the first attempt of the slow record' });

    // kafkajs fetches every partition together and waits for the whole fetch: records on the other
    // partitions wait for the slow attempt in hand, not for the record's retries.
    const others = [1, 2, 1, 2].map((p, i) => ({ key: keyOn(p, `other${i}`), event: blocked(`+7495200000${i}`) }));
    const publishedAt = Date.now();
    await bus.producer.publishMany(others.map((o) => ({ topic: 'antifraudBlocklist' as const, key: o.key, event: o.event })));
    await waitFor(() => others.every((o) => handledAt.has(o.event.eventId)), { what: 'the other partitions', timeoutMs: 15_000 });
    const slowest = Math.max(...others.map((o) => handledAt.get(o.event.eventId)! - publishedAt));
    assert.ok(slowest < SESSION_TIMEOUT_MS + 4_000, `other partitions handled within one attempt of the slow record (slowest ${slowest} ms)`);
    assert.equal(poisonAttempts, 1, "handled during the slow record's backoff, before its next attempt");

    const dead = await waitFor(() => probe.deadLetters('antifraudBlocklist').find((r) => r.key === poisonKey), { what: 'the dead letter', timeoutMs: 60_000 });
    assert.equal(dead.headers[DLQ_HEADERS.reason], 'retries_exhausted');
    assert.equal(dead.headers[DLQ_HEADERS.attempts], '3');
    assert.match(dead.headers[DLQ_HEADERS.error] ?? '', /endpoint keeps failing/);
    assert.equal(poisonAttempts, 3);
    // Three attempts longer than the session timeout each: the member was never evicted.
    assert.equal(joins, 1, 'one group join: no eviction, no rebalance');
    await consumer.stop();
  });

  it('a flush longer than maxBlockedMs that heartbeats between its steps keeps its member: the bound counts from its last own heartbeat', async () => {
    const STEP_MS = SESSION_TIMEOUT_MS + 1_000;
    let joins = 0;
    let steps = 0;
    let flushes = 0;
    let heartbeat: (() => Promise<void>) | undefined;
    const marker = blocked('+74951000009');
    const consumer = bus.consumer({
      groupId: 'stepping-flush-group',
      topics: ['antifraudBlocklist'],
      fromBeginning: false,
      // Shorter than the whole flush, longer than one step: only a bound counted from the flush's
      // own last heartbeat keeps the consumer heartbeating through the later steps.
      maxBlockedMs: STEP_MS + 1_000,
      onAssignment: () => void joins++,
      handle: async (r) => {
        if (r.event.eventId === marker.eventId) heartbeat = r.heartbeat;
      },
      flush: async () => {
        if (!heartbeat) return;
        flushes++;
        // Three steps, each longer than the session timeout without heartbeating itself (a lock, a slow query).
        for (let i = 0; i < 3; i++) {
          await sleep(STEP_MS);
          steps++;
          if (i < 2) await heartbeat();
        }
        heartbeat = undefined;
      },
    });
    await consumer.start();
    await consumer.waitUntilReady();
    await bus.producer.publish('antifraudBlocklist', keyOn(2, 'stepping'), marker);
    await waitFor(() => steps >= 3, { what: 'the three steps of the flush', timeoutMs: 60_000 });
    await consumer.stop();
    assert.equal(flushes, 1, 'the flush ran once: never cut by an eviction and redone');
    assert.equal(joins, 1, 'one group join: no eviction, no rebalance');
  });

  it('a handler hanging past the session timeout: the member is evicted, the batch comes back, attempts are remembered, it is dead-lettered once', async () => {
    const key = keyOn(1, 'hang');
    const poison = blocked('+74951000002');
    const marker = blocked('+74951000003');
    let calls = 0;
    let joins = 0;
    const handled: string[] = [];
    const consumer = bus.consumer({
      groupId: 'hang-group',
      topics: ['antifraudBlocklist'],
      fromBeginning: true,
      maxRetries: 1,
      retryDelayMs: 100,
      // The consumer heartbeats for a stuck handler only this long; then the group evicts the member.
      maxBlockedMs: 1_000,
      onAssignment: () => void joins++,
      handle: async (r) => {
        if (r.event.eventId === poison.eventId) {
          calls++;
          await sleep(SESSION_TIMEOUT_MS + 4_000);
          throw new Error('stuck endpoint');
        }
        handled.push(r.event.eventId);
      },
    });
    await consumer.start();
    await consumer.waitUntilReady();
    await bus.producer.publish('antifraudBlocklist', key, poison);
    // Same key, same partition: handled only once the poison record is settled.
    await bus.producer.publish('antifraudBlocklist', key, marker);
    await waitFor(() => handled.includes(marker.eventId), { what: 'the record after the hanging one', timeoutMs: 90_000 });
    assert.ok(joins >= 2, `the member was evicted and rejoined (${joins} joins)`);
    assert.equal(calls, 2, 'one attempt plus one retry in all, across the eviction');
    const dead = await waitFor(
      () => {
        const d = probe.deadLetters('antifraudBlocklist').filter((r) => r.key === key);
        return d.length > 0 ? d : undefined;
      },
      { what: 'the dead letter' },
    );
    assert.equal(dead[0]!.headers[DLQ_HEADERS.attempts], '2');
    assert.equal(dead[0]!.headers[DLQ_HEADERS.reason], 'retries_exhausted');
    await consumer.stop();
  });

  it('a consumer that crashes for good is restarted with backoff and consumes again', async () => {
    let joins = 0;
    const handled: string[] = [];
    const consumer = bus.consumer({
      groupId: 'crash-group',
      topics: ['antifraudBlocklist'],
      fromBeginning: false,
      // A throwing assignment callback makes kafkajs crash without restarting (restart=false).
      onAssignment: () => {
        if (++joins === 1) throw new Error('assignment failed');
      },
      handle: async (r) => void handled.push(r.event.eventId),
    });
    await consumer.start();
    await consumer.waitUntilReady(30_000);
    assert.ok(joins >= 2, 'joined again after the crash');
    assert.equal(consumer.isLive(), true);
    const later = blocked('+74951000004');
    await bus.producer.publish('antifraudBlocklist', 'later', later);
    await waitFor(() => handled.includes(later.eventId), { what: 'a record published after the restart' });
    await consumer.stop();
  });

  it('a member kept out of its group past joinTimeoutMs gets a new client, not counted as a crash, and joins once the group lets it', async () => {
    const handled: string[] = [];
    const consumer = bus.consumer({
      groupId: 'join-group',
      topics: ['antifraudBlocklist'],
      fromBeginning: false,
      joinTimeoutMs: 10_000,
      // Any counted restart would declare it dead: replacements must not count.
      maxRestarts: 0,
      handle: async (r) => void handled.push(r.event.eventId),
    });
    const restarts = async (): Promise<number> => {
      const m = await metricsRegistry.getSingleMetric('calltrack_consumer_restarts_total')!.get();
      return m.values.find((v) => v.labels['group'] === 'join-group')?.value ?? 0;
    };
    await consumer.start();
    await consumer.waitUntilReady();
    // Plain kafkajs members of the same group. The holder takes partitions and stops heartbeating
    // inside a batch (a session long enough not to expire during the test); then the joiner makes
    // the group rebalance, and the BatchConsumer's rejoin waits for the holder.
    const plain = (clientId: string) =>
      createKafka({ ...env.settings, clientId }, testLogger).consumer({
        groupId: `${env.settings.prefix}join-group`,
        sessionTimeout: 60_000,
        heartbeatInterval: 1_000,
        // Stopped is stopped: no restart of its own after a crash.
        retry: { restartOnFailure: () => Promise.resolve(false) },
      });
    const holder = plain('join-holder');
    const joiner = plain('join-joiner');
    let holding = false;
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    try {
      await holder.connect();
      await holder.subscribe({ topics: [topicName('antifraudBlocklist', env.settings.prefix)] });
      await holder.run({
        eachBatch: async () => {
          holding = true;
          await released;
        },
      });
      await waitFor(
        async () => {
          // One record per partition until the holder has a batch of its own in hand.
          for (const p of [0, 1, 2]) await bus.producer.publish('antifraudBlocklist', keyOn(p, 'held'), blocked('+74951000009'));
          return holding;
        },
        { what: 'the holder inside a batch', timeoutMs: 40_000, intervalMs: 1_000 },
      );
      await joiner.connect();
      await joiner.subscribe({ topics: [topicName('antifraudBlocklist', env.settings.prefix)] });
      void joiner.run({ eachBatch: async () => undefined });
      await waitFor(async () => (await restarts()) >= 1, { what: 'a replaced client', timeoutMs: 40_000 });
      assert.equal(consumer.isLive(), true, 'a replacement is not a crash');
      assert.equal(consumer.isReady(), false, 'kept out while the holder holds');
      // The holder lets go and rejoins: the group settles with all three (the replaced client's
      // member, gone mid-join, expires within a session timeout).
      release();
      await consumer.waitUntilReady(60_000);
      const later = [0, 1, 2].map((p) => ({ key: keyOn(p, 'after-join'), event: blocked(`+7495100002${p}`) }));
      await bus.producer.publishMany(later.map((l) => ({ topic: 'antifraudBlocklist' as const, key: l.key, event: l.event })));
      await waitFor(() => later.some((l) => handled.includes(l.event.eventId)), { what: 'a record of its new assignment' });
      assert.equal(consumer.isLive(), true);
    } finally {
      release();
      await Promise.all([holder.disconnect().catch(() => undefined), joiner.disconnect().catch(() => undefined)]);
      await consumer.stop();
    }
  });

  it('a consumer that cannot be restarted takes liveness down', async () => {
    const consumer = bus.consumer({
      groupId: 'dead-group',
      topics: ['antifraudBlocklist'],
      maxRestarts: 1,
      onAssignment: () => {
        throw new Error('assignment always fails');
      },
      handle: async () => undefined,
    });
    assert.equal(bus.isLive(), true);
    await consumer.start();
    await waitFor(() => !consumer.isLive(), { what: 'the consumer declared dead', timeoutMs: 30_000 });
    assert.equal(bus.isLive(), false, 'the process is no longer live');
    await assert.rejects(consumer.waitUntilReady(1_000), /assignment always fails/);
    await consumer.stop();
  });

  it('a consumer and a replay started before their topics exist wait, not ready, and start once the topics are provisioned', async () => {
    const prefix = `test.kafka-late.${randomUUID().slice(0, 8)}.`;
    const settings = { brokers: testBrokers().split(','), clientId: 'kafka-late-test', prefix, sessionTimeoutMs: SESSION_TIMEOUT_MS };
    const late = new KafkaBus(settings, testLogger);
    await late.connect();
    try {
      const handled: string[] = [];
      const consumer = late.consumer({
        groupId: 'late-group',
        topics: ['antifraudBlocklist'],
        fromBeginning: true,
        handle: async (r) => void handled.push(r.event.eventId),
      });
      await consumer.start();
      let replayed: number | undefined;
      const replay = late.replay(['antifraudBlocklist'], () => undefined).then((r) => (replayed = r.records));
      assert.equal(consumer.isReady(), false);
      assert.equal(consumer.isLive(), true);
      await provisionTopics(createKafka(settings, testLogger), prefix, testLogger);
      await consumer.waitUntilReady(60_000);
      await replay;
      assert.equal(replayed, 0);
      const first = blocked('+74951000005');
      await late.producer.publish('antifraudBlocklist', 'k', first);
      await waitFor(() => handled.includes(first.eventId), { what: 'the first record on the new topic' });
    } finally {
      await late.close();
      await deletePrefixedTopics(createKafka(settings, testLogger), prefix);
    }
  });

  it('per-instance groups left by killed instances are deleted at the next start; live ones are kept', async () => {
    const base = `${env.prefix}view-group`;
    const admin = env.kafka.admin();
    await admin.connect();
    // A killed instance's group: offsets committed, no member left.
    const stale = `${base}.${randomUUID()}`;
    const ghost = env.kafka.consumer({ groupId: stale });
    await ghost.connect();
    await ghost.subscribe({ topics: [env.topic('antifraudBlocklist')], fromBeginning: true });
    await ghost.run({ eachMessage: async () => undefined });
    await waitFor(
      async () => (await admin.fetchOffsets({ groupId: stale, topics: [env.topic('antifraudBlocklist')] }))[0]!.partitions.some((p) => Number(p.offset) > 0),
      { what: 'the ghost committed' },
    );
    await ghost.disconnect();
    // A live instance's group, with its member.
    const live = `${base}.${randomUUID()}`;
    const other = env.kafka.consumer({ groupId: live });
    await other.connect();
    await other.subscribe({ topics: [env.topic('antifraudBlocklist')] });
    let otherJoined = false;
    other.on(other.events.GROUP_JOIN, () => (otherJoined = true));
    await other.run({ eachMessage: async () => undefined });
    await waitFor(() => otherJoined, { what: 'the live instance joined' });
    try {
      const consumer = bus.consumer({
        groupId: 'view-group',
        perInstance: true,
        topics: ['antifraudBlocklist'],
        fromBeginning: true,
        handle: async () => undefined,
      });
      await consumer.start();
      await waitFor(async () => !(await admin.listGroups()).groups.some((g) => g.groupId === stale), { what: 'the stale group deleted' });
      const groups = (await admin.listGroups()).groups.map((g) => g.groupId);
      assert.ok(groups.includes(live), 'the live instance keeps its group');
      await consumer.waitUntilReady();
      await consumer.stop();
      assert.ok(!(await admin.listGroups()).groups.some((g) => g.groupId.startsWith(base) && g.groupId !== live), 'the stopped instance removed its own group');
    } finally {
      await other.disconnect();
      await admin.disconnect();
    }
  });
});
