// Integration tests of libs/kafka's topic provisioning on the shared (busy) broker.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createKafka, deletePrefixedTopics, ensureTopics, type KafkaJs, type TopicToProvision } from '@calltrack/kafka';
import { testBrokers, testLogger } from './index.js';

describe('topic provisioning on the real broker', () => {
  const prefix = `test.provision.${randomUUID().slice(0, 8)}.`;
  let kafka: KafkaJs;

  before(() => {
    kafka = createKafka({ brokers: testBrokers().split(','), clientId: 'provision-test', prefix }, testLogger);
  });
  after(async () => {
    await deletePrefixedTopics(kafka, prefix);
  });

  // A registry-sized list several times over: 100 keyed topics, each with a dead-letter and a retry twin.
  const wanted: TopicToProvision[] = [];
  for (let i = 0; i < 100; i++) {
    const name = `${prefix}topic-${i}.v1`;
    wanted.push({
      name,
      partitions: 1 + (i % 6),
      config: { 'cleanup.policy': i % 3 === 0 ? 'compact' : 'delete', 'retention.ms': '-1' },
      fixedPartitions: true,
    });
    wanted.push({ name: `${name}.dlq`, partitions: 3, config: { 'cleanup.policy': 'delete' }, fixedPartitions: false });
    wanted.push({ name: `${name}.retry`, partitions: 1, config: { 'cleanup.policy': 'delete' }, fixedPartitions: false });
  }

  it('returns only when every one of 300 new topics has a leader for every partition', async () => {
    const result = await ensureTopics(kafka, wanted, testLogger);
    assert.equal(result.created.length, 300);
    assert.equal(result.existing.length, 0);
    // A fresh client (no cached metadata) sees every topic, every partition led, at once: no retry here.
    const admin = kafka.admin({ retry: { retries: 0 } });
    await admin.connect();
    try {
      for (let i = 0; i < wanted.length; i += 50) {
        const chunk = wanted.slice(i, i + 50);
        const meta = await admin.fetchTopicMetadata({ topics: chunk.map((t) => t.name) });
        for (const t of chunk) {
          const m = meta.topics.find((x) => x.name === t.name);
          assert.ok(m, `${t.name} in the metadata`);
          assert.equal(m.partitions.length, t.partitions, `${t.name} partitions`);
          for (const p of m.partitions) assert.ok(p.leader >= 0, `${t.name}/${p.partitionId} has a leader`);
        }
      }
      const offsets = await admin.fetchTopicOffsets(wanted[5]!.name);
      assert.equal(offsets.length, wanted[5]!.partitions);
    } finally {
      await admin.disconnect();
    }
  });

  it('is idempotent and races safely: two provisioners at once, then again', async () => {
    const more = Array.from({ length: 30 }, (_, i): TopicToProvision => ({ name: `${prefix}race-${i}`, partitions: 2, config: {}, fixedPartitions: true }));
    const [a, b] = await Promise.all([ensureTopics(kafka, more, testLogger), ensureTopics(kafka, more, testLogger)]);
    // Each topic is created by one of them or found by the other; both return with all of them ready.
    assert.equal(new Set([...a.created, ...a.existing]).size, 30);
    assert.equal(new Set([...b.created, ...b.existing]).size, 30);
    const again = await ensureTopics(kafka, wanted, testLogger);
    assert.deepEqual(again, { created: [], existing: wanted.map((t) => t.name) });
  });

  it('refuses to change the partition count of an existing keyed topic, and names it', async () => {
    const keyed = wanted[3]!; // topic-1: 2 partitions
    await assert.rejects(ensureTopics(kafka, [{ ...keyed, partitions: keyed.partitions + 3 }], testLogger), (err: Error) => {
      assert.match(err.message, /partition count differs/);
      assert.ok(err.message.includes(`${keyed.name} has ${keyed.partitions}, registry says ${keyed.partitions + 3}`), err.message);
      return true;
    });
    const admin = kafka.admin();
    await admin.connect();
    const meta = await admin.fetchTopicMetadata({ topics: [keyed.name] });
    await admin.disconnect();
    assert.equal(meta.topics[0]!.partitions.length, keyed.partitions, 'the topic was left as it was');
    // A twin (not keyed by ownership) with another count is accepted as it is.
    const twin = wanted[4]!; // topic-1.dlq
    const r = await ensureTopics(kafka, [{ ...twin, partitions: 7 }], testLogger);
    assert.deepEqual(r.existing, [twin.name]);
  });

  it("fails at once with the broker's reason on a refusal that is not transient", async () => {
    const bad: TopicToProvision = { name: `${prefix}bad-config`, partitions: 1, config: { 'cleanup.policy': 'no-such-policy' }, fixedPartitions: true };
    await assert.rejects(ensureTopics(kafka, [bad], testLogger, { deadlineMs: 2_000 }), /refused to create 1 topics: .*bad-config: INVALID_CONFIG/);
  });
});
