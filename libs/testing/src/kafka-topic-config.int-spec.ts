// The topic hook (provisionTopics, the Helm topics Job's CLI) against pre-created topics on the
// real broker: a keyed topic with the wrong partition count or the wrong cleanup policy or
// retention is refused with a message naming it, and left as it was.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { TOPICS, topicName } from '@calltrack/contracts';
import { createKafka, deletePrefixedTopics, describeTopicConfigs, ensureTopics, provisionTopics, type KafkaJs, type TopicToProvision } from '@calltrack/kafka';
import type { Logger } from '@calltrack/telemetry';
import { testBrokers, testLogger } from './index.js';

describe('the topic hook checks existing topics against the registry', () => {
  const prefix = `test.topicconfig.${randomUUID().slice(0, 8)}.`;
  let kafka: KafkaJs;

  before(() => {
    kafka = createKafka({ brokers: testBrokers().split(','), clientId: 'topic-config-test', prefix }, testLogger);
  });
  after(async () => {
    await deletePrefixedTopics(kafka, prefix);
  });

  /** A topic made by hand before the hook runs (created and led, with these settings). */
  async function createRaw(name: string, partitions: number, config: Record<string, string>): Promise<void> {
    const r = await ensureTopics(kafka, [{ name, partitions, config, fixedPartitions: false }], testLogger);
    assert.deepEqual(r.created, [name]);
  }

  async function describe_(name: string): Promise<{ partitions: number; config: Record<string, string> }> {
    const admin = kafka.admin();
    await admin.connect();
    try {
      const meta = await admin.fetchTopicMetadata({ topics: [name] });
      const cfg = await describeTopicConfigs(kafka, [name], ['cleanup.policy', 'retention.ms']);
      return { partitions: meta.topics[0]!.partitions.length, config: cfg.get(name) ?? {} };
    } finally {
      await admin.disconnect();
    }
  }

  it("refuses the registry's topics when a keyed one has the wrong partition count and another the wrong cleanup policy", async () => {
    // Made by hand before the first install: pool-commands with 4 partitions instead of 6, sites (compacted) as delete.
    const poolCommands = topicName('poolCommands', prefix);
    const sites = topicName('sites', prefix);
    await createRaw(poolCommands, TOPICS.poolCommands.partitions - 2, { 'cleanup.policy': 'delete' });
    await createRaw(sites, TOPICS.sites.partitions, { 'cleanup.policy': 'delete', 'retention.ms': '-1' });

    await assert.rejects(provisionTopics(kafka, prefix, testLogger), (err: Error) => {
      assert.ok(
        err.message.includes(`${poolCommands} has ${TOPICS.poolCommands.partitions - 2}, registry says ${TOPICS.poolCommands.partitions}`),
        err.message,
      );
      assert.ok(err.message.includes(`${sites} has cleanup.policy=delete, registry says compact`), err.message);
      assert.match(err.message, /docs\/topics\.md/);
      return true;
    });
    // Checked before creating anything, and nothing changed.
    assert.equal((await describe_(poolCommands)).partitions, TOPICS.poolCommands.partitions - 2);
    assert.equal((await describe_(sites)).config['cleanup.policy'], 'delete');
    const admin = kafka.admin();
    await admin.connect();
    const listed = await admin.listTopics();
    await admin.disconnect();
    assert.ok(!listed.includes(topicName('calls', prefix)), 'no other topic was created');
  });

  it('refuses a keyed event log kept for a limited time when the registry keeps it for ever', async () => {
    const log: TopicToProvision = {
      name: `${prefix}events.v1`,
      partitions: 2,
      config: { 'cleanup.policy': 'delete', 'retention.ms': '-1' },
      fixedPartitions: true,
    };
    await createRaw(log.name, 2, { 'cleanup.policy': 'delete', 'retention.ms': String(7 * 86_400_000) });
    await assert.rejects(
      ensureTopics(kafka, [log], testLogger),
      new RegExp(`${log.name.replace(/\./g, '\\.')} has retention\\.ms=604800000, registry says -1`),
    );
    assert.equal((await describe_(log.name)).config['retention.ms'], '604800000');
  });

  it('accepts a matching keyed topic, and reports but accepts a twin whose settings differ', async () => {
    const keyed: TopicToProvision = {
      name: `${prefix}state.v1`,
      partitions: 3,
      config: { 'cleanup.policy': 'compact', 'retention.ms': '-1' },
      fixedPartitions: true,
    };
    const dlq: TopicToProvision = {
      name: `${keyed.name}.dlq`,
      partitions: 1,
      config: { 'cleanup.policy': 'delete', 'retention.ms': String(30 * 86_400_000) },
      fixedPartitions: false,
    };
    await createRaw(keyed.name, 3, { 'cleanup.policy': 'compact', 'retention.ms': '-1' });
    await createRaw(dlq.name, 1, { 'cleanup.policy': 'delete', 'retention.ms': String(86_400_000) });
    const warnings: Array<Record<string, unknown>> = [];
    const recording = Object.create(testLogger) as Logger;
    recording.warn = (fields: Record<string, unknown>) => void warnings.push(fields);
    const result = await ensureTopics(kafka, [keyed, dlq], recording);
    assert.deepEqual(result, { created: [], existing: [keyed.name, dlq.name] });
    assert.deepEqual(
      warnings.filter((w) => w['event'] === 'kafka_topic_config_differs'),
      [{ event: 'kafka_topic_config_differs', topic: dlq.name, config: 'retention.ms', expected: '2592000000', actual: '86400000' }],
    );
  });
});
