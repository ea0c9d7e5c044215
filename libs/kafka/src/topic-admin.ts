import { provisionedTopics } from '@calltrack/contracts';
import type { Logger } from '@calltrack/telemetry';
import type { KafkaJs } from './kafka-client.js';

/**
 * Creates every topic of the registry (and its dead-letter topic) that does not
 * exist yet, with the registry's partitions and config. Existing topics are
 * left alone, except that missing partitions are added.
 */
export async function provisionTopics(kafka: KafkaJs, prefix: string, logger: Logger, replicationFactor = 1): Promise<{ created: string[]; existing: string[] }> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const wanted = provisionedTopics(prefix);
    const existingNames = new Set(await admin.listTopics());
    const toCreate = wanted.filter((t) => !existingNames.has(t.name));
    if (toCreate.length > 0) {
      await admin.createTopics({
        waitForLeaders: true,
        topics: toCreate.map((t) => ({
          topic: t.name,
          numPartitions: t.partitions,
          replicationFactor,
          configEntries: Object.entries(t.config).map(([name, value]) => ({ name, value })),
        })),
      });
    }
    const existing = wanted.filter((t) => existingNames.has(t.name));
    if (existing.length > 0) {
      const meta = await admin.fetchTopicMetadata({ topics: existing.map((t) => t.name) });
      const grow = existing.filter((t) => (meta.topics.find((m) => m.name === t.name)?.partitions.length ?? 0) < t.partitions);
      if (grow.length > 0) await admin.createPartitions({ topicPartitions: grow.map((t) => ({ topic: t.name, count: t.partitions })) });
    }
    logger.info({ event: 'kafka_topics_provisioned', created: toCreate.length, existing: existing.length, prefix });
    return { created: toCreate.map((t) => t.name), existing: existing.map((t) => t.name) };
  } finally {
    await admin.disconnect();
  }
}

/** Deletes every topic with the given prefix (test clean-up). Refuses an empty prefix. */
export async function deletePrefixedTopics(kafka: KafkaJs, prefix: string): Promise<number> {
  if (!prefix) throw new Error('refusing to delete topics without a prefix');
  const admin = kafka.admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
    if (topics.length > 0) await admin.deleteTopics({ topics });
    return topics.length;
  } finally {
    await admin.disconnect();
  }
}
