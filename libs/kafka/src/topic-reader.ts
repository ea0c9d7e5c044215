import { decodeEvent, topicName, type AnyDomainEvent, type TopicKey } from '@calltrack/contracts';
import type { Logger } from '@calltrack/telemetry';
import { randomUUID } from 'node:crypto';
import type { KafkaJs, KafkaSettings } from './kafka-client.js';

export interface ReplayedRecord {
  topic: TopicKey;
  partition: number;
  offset: string;
  key: string | null;
  /** Undefined for a tombstone (compacted topics) or an undecodable value, which replay skips with a warning. */
  event: AnyDomainEvent | undefined;
}

export interface ReplayOptions {
  partitions?: (topic: TopicKey, partition: number) => boolean;
  /** Where to start in a partition instead of its beginning (a snapshot covers what lies before). */
  startOffset?: (topic: TopicKey, partition: number) => bigint | undefined;
}

/**
 * Reads topics from the beginning up to the end offsets seen when the call
 * started: how a service rebuilds its state from its event log after a restart.
 * Records are delivered in order per partition.
 */
export async function replayTopics(
  kafka: KafkaJs,
  settings: KafkaSettings,
  logger: Logger,
  topics: TopicKey[],
  onRecord: (record: ReplayedRecord) => void | Promise<void>,
  options: ReplayOptions = {},
): Promise<{ records: number }> {
  const admin = kafka.admin();
  await admin.connect();
  // Remaining end offset per "topic:partition"; replay ends when every one is reached.
  const remaining = new Map<string, bigint>();
  const keyByName = new Map<string, TopicKey>();
  const starts: Array<{ topic: string; partition: number; offset: string }> = [];
  try {
    for (const key of topics) {
      const name = topicName(key, settings.prefix);
      keyByName.set(name, key);
      for (const p of await admin.fetchTopicOffsets(name)) {
        if (options.partitions && !options.partitions(key, p.partition)) continue;
        const start = options.startOffset?.(key, p.partition);
        const from = start !== undefined && start > BigInt(p.low) ? start : BigInt(p.low);
        if (BigInt(p.high) > from) remaining.set(`${name}:${p.partition}`, BigInt(p.high));
        if (start !== undefined && BigInt(p.high) > from) starts.push({ topic: name, partition: p.partition, offset: String(from) });
      }
    }
  } finally {
    await admin.disconnect();
  }
  if (remaining.size === 0) return { records: 0 };

  // kafkajs has no manual assignment: a throw-away group reads from the beginning.
  const groupId = `${settings.prefix}replay-${settings.clientId}-${randomUUID()}`;
  if (starts.length > 0) {
    // The throw-away group starts where it has "committed": set before any member joins.
    const setter = kafka.admin();
    await setter.connect();
    try {
      for (const s of starts) await setter.setOffsets({ groupId, topic: s.topic, partitions: [{ partition: s.partition, offset: s.offset }] });
    } finally {
      await setter.disconnect();
    }
  }
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 50, allowAutoTopicCreation: false });
  let records = 0;
  let finish!: () => void;
  let fail!: (err: Error) => void;
  const done = new Promise<void>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  // A crash kafkajs does not restart from would otherwise leave the replay waiting for good.
  consumer.on(consumer.events.CRASH, (e) => {
    if (!e.payload.restart) fail(e.payload.error);
  });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [...keyByName.keys()], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        const id = `${batch.topic}:${batch.partition}`;
        const end = remaining.get(id);
        if (end === undefined) return;
        const topic = keyByName.get(batch.topic)!;
        try {
          for (const m of batch.messages) {
            if (BigInt(m.offset) >= end) break;
            let event: AnyDomainEvent | undefined;
            if (m.value && m.value.length > 0) {
              try {
                event = decodeEvent(m.value);
              } catch (err) {
                logger.warn({
                  event: 'replay_record_undecodable',
                  topic: batch.topic,
                  partition: batch.partition,
                  offset: m.offset,
                  err: (err as Error).message,
                });
              }
            }
            await onRecord({ topic, partition: batch.partition, offset: m.offset, key: m.key ? m.key.toString('utf8') : null, event });
            records += 1;
            if (BigInt(m.offset) + 1n >= end) {
              remaining.delete(id);
              break;
            }
          }
        } catch (err) {
          fail(err as Error);
          return;
        }
        if (remaining.size === 0) finish();
      },
    });
    await done;
  } finally {
    await consumer.disconnect();
    const admin2 = kafka.admin();
    await admin2.connect();
    await admin2.deleteGroups([groupId]).catch(() => undefined);
    await admin2.disconnect();
  }
  return { records };
}
