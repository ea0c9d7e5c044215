// Integration tests of libs/kafka's CompactedTopicFollower (replay, then follow), kept here because
// libs/testing itself depends on libs/kafka.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createEvent } from '@calltrack/contracts';
import { KafkaBus, partitionOf, type FollowPhase } from '@calltrack/kafka';
import { createKafkaTestEnv, testLogger, waitFor, type KafkaTestEnv } from './index.js';

const PARTITIONS = 3; // antifraud-blocklist
const blocked = (phone: string) => createEvent('CallerBlocked', { phone, reason: 'test' }, { siteId: 'site-a', producer: 'test' });
/** A key of antifraud-blocklist that lands on `partition`. */
const keyOn = (partition: number, tag: string): string => {
  for (let i = 0; ; i++) if (partitionOf(`${tag}-${i}`, PARTITIONS) === partition) return `${tag}-${i}`;
};

describe('CompactedTopicFollower on the real broker', () => {
  let env: KafkaTestEnv;
  let writer: KafkaBus;
  let reader: KafkaBus;

  before(async () => {
    env = await createKafkaTestEnv('kafka-follower');
    // Another process's producer: what the follower must see is written by someone else.
    writer = new KafkaBus({ ...env.settings, clientId: 'kafka-follower-writer' }, testLogger);
    reader = new KafkaBus({ ...env.settings, clientId: 'kafka-follower-reader' }, testLogger);
    await writer.connect();
    await reader.connect();
  });
  after(async () => {
    await reader.close();
    await writer.close();
  });

  it('replays what is there, is ready only then, and applies every later record once, none of the replayed ones again', async () => {
    const earlier = [0, 1, 2, 0].map((p, i) => ({ key: keyOn(p, `old${i}`), event: blocked(`+749500000${i}`) }));
    for (const r of earlier) await writer.producer.publish('antifraudBlocklist', r.key, r.event);

    const applied: Array<{ eventId: string; phase: FollowPhase; readyThen: boolean }> = [];
    const follower = reader.replayThenFollow({
      name: 'blocklist-test',
      topics: ['antifraudBlocklist'],
      apply: (r) => {
        if (r.event) applied.push({ eventId: r.event.eventId, phase: r.phase, readyThen: follower.isReady() });
      },
    });
    assert.equal(follower.isReady(), false);
    let readyResolved = false;
    void follower.whenReady().then(() => (readyResolved = true));
    const { records } = await follower.start();
    assert.equal(records, earlier.length);
    assert.equal(follower.isReady(), true);
    assert.equal(readyResolved, true, 'whenReady() resolved with the replay');
    assert.deepEqual(applied.map((a) => a.eventId).sort(), earlier.map((r) => r.event.eventId).sort());
    assert.ok(
      applied.every((a) => a.phase === 'replay' && !a.readyThen),
      'every replayed record applied before ready',
    );

    // Later records from the other producer, one on every partition: once each is applied, the live
    // consumer (which starts from the beginning) has read past every replayed record of its partition.
    const later = [0, 1, 2].map((p) => ({ key: keyOn(p, 'new'), event: blocked(`+749511111${p}`) }));
    for (const r of later) await writer.producer.publish('antifraudBlocklist', r.key, r.event);
    await waitFor(() => later.every((r) => applied.some((a) => a.eventId === r.event.eventId)), { what: 'the later records applied' });

    const counts = new Map<string, number>();
    for (const a of applied) counts.set(a.eventId, (counts.get(a.eventId) ?? 0) + 1);
    for (const r of [...earlier, ...later]) assert.equal(counts.get(r.event.eventId), 1, `${r.event.eventId} applied once`);
    assert.equal(applied.length, earlier.length + later.length);
    assert.deepEqual(
      applied
        .filter((a) => a.phase === 'follow')
        .map((a) => a.eventId)
        .sort(),
      later.map((r) => r.event.eventId).sort(),
    );
    await follower.stop();
  });

  it('retries a live record whose apply failed and applies it once', async () => {
    const failing = blocked('+74952222220');
    const next = blocked('+74952222221');
    let failuresLeft = 1;
    const live: string[] = [];
    const follower = reader.replayThenFollow({
      name: 'retry-test',
      topics: ['antifraudBlocklist'],
      apply: (r) => {
        if (r.phase === 'follow' && r.event?.eventId === failing.eventId && failuresLeft-- > 0) throw new Error('store unavailable');
        if (r.phase === 'follow' && r.event) live.push(r.event.eventId);
      },
    });
    await follower.start();
    // Same key: one partition, in this order.
    await writer.producer.publish('antifraudBlocklist', 'retry-key', failing);
    await writer.producer.publish('antifraudBlocklist', 'retry-key', next);
    await waitFor(() => live.includes(next.eventId), { what: 'the record after the failing one' });
    assert.deepEqual(live, [failing.eventId, next.eventId]);
    assert.equal(failuresLeft, -1, 'the failing record was tried twice');
    await follower.stop();
  });
});
