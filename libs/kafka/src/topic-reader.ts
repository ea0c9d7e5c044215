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

/** A record as stored: what raw readers (dead-letter checks, the chaos run) look at. */
export interface RawRecord {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, string>;
}

export interface ReadToEndOptions {
  /** The throw-away group's id (deleted afterwards). */
  groupId: string;
  /** Which partitions to read; all by default. */
  partitions?: (topic: string, partition: number) => boolean;
  /** Where to start in a partition instead of its beginning. */
  startOffset?: (topic: string, partition: number) => bigint | undefined;
}

/**
 * Reads topics (by full name) from the beginning, or a given offset, up to the end offsets
 * seen when the call started, handing every record to `onRecord` in order per partition.
 * kafkajs has no manual assignment, so a throw-away group does the reading and is deleted.
 */
export async function readTopicsToEnd(
  kafka: KafkaJs,
  topics: string[],
  onRecord: (record: RawRecord) => void | Promise<void>,
  options: ReadToEndOptions,
): Promise<{ records: number }> {
  const admin = kafka.admin();
  await admin.connect();
  // Remaining end offset per "topic:partition"; the read ends when every one is reached.
  const remaining = new Map<string, bigint>();
  const starts: Array<{ topic: string; partition: number; offset: string }> = [];
  try {
    for (const name of topics) {
      for (const p of await admin.fetchTopicOffsets(name)) {
        if (options.partitions && !options.partitions(name, p.partition)) continue;
        const start = options.startOffset?.(name, p.partition);
        const from = start !== undefined && start > BigInt(p.low) ? start : BigInt(p.low);
        if (BigInt(p.high) > from) remaining.set(`${name}:${p.partition}`, BigInt(p.high));
        if (start !== undefined && BigInt(p.high) > from) starts.push({ topic: name, partition: p.partition, offset: String(from) });
      }
    }
    // The throw-away group starts where it has "committed": set before any member joins.
    for (const s of starts) await admin.setOffsets({ groupId: options.groupId, topic: s.topic, partitions: [{ partition: s.partition, offset: s.offset }] });
  } finally {
    await admin.disconnect();
  }
  if (remaining.size === 0) return { records: 0 };

  const consumer = kafka.consumer({ groupId: options.groupId, maxWaitTimeInMs: 50, allowAutoTopicCreation: false });
  let records = 0;
  let finish!: () => void;
  let fail!: (err: Error) => void;
  const done = new Promise<void>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  // A crash kafkajs does not restart from would otherwise leave the read waiting for good.
  consumer.on(consumer.events.CRASH, (e) => {
    if (!e.payload.restart) fail(e.payload.error);
  });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [...new Set([...remaining.keys()].map((k) => k.slice(0, k.lastIndexOf(':'))))], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        const id = `${batch.topic}:${batch.partition}`;
        const end = remaining.get(id);
        if (end === undefined) return;
        try {
          for (const m of batch.messages) {
            if (BigInt(m.offset) >= end) break;
            const headers = Object.fromEntries(
              Object.entries(m.headers ?? {}).map(([k, v]) => [k, Buffer.isBuffer(v) ? v.toString('utf8') : Array.isArray(v) ? v.join(',') : String(v ?? '')]),
            );
            await onRecord({ topic: batch.topic, partition: batch.partition, offset: m.offset, key: m.key ?? null, value: m.value ?? null, headers });
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
    const cleanup = kafka.admin();
    await cleanup.connect();
    await cleanup.deleteGroups([options.groupId]).catch(() => undefined);
    await cleanup.disconnect();
  }
  return { records };
}

/**
 * Reads topics from the beginning up to the end offsets seen when the call
 * started: how a service rebuilds its state from its event log after a restart.
 * Records are delivered in order per partition, decoded.
 */
export async function replayTopics(
  kafka: KafkaJs,
  settings: KafkaSettings,
  logger: Logger,
  topics: TopicKey[],
  onRecord: (record: ReplayedRecord) => void | Promise<void>,
  options: ReplayOptions = {},
): Promise<{ records: number }> {
  const keyByName = new Map(topics.map((key) => [topicName(key, settings.prefix), key]));
  const keyOf = (name: string): TopicKey => keyByName.get(name)!;
  return readTopicsToEnd(
    kafka,
    [...keyByName.keys()],
    async (m) => {
      let event: AnyDomainEvent | undefined;
      if (m.value && m.value.length > 0) {
        try {
          event = decodeEvent(m.value);
        } catch (err) {
          logger.warn({ event: 'replay_record_undecodable', topic: m.topic, partition: m.partition, offset: m.offset, err: (err as Error).message });
        }
      }
      await onRecord({ topic: keyOf(m.topic), partition: m.partition, offset: m.offset, key: m.key ? m.key.toString('utf8') : null, event });
    },
    {
      groupId: `${settings.prefix}replay-${settings.clientId}-${randomUUID()}`,
      partitions: options.partitions ? (name, partition) => options.partitions!(keyOf(name), partition) : undefined,
      startOffset: options.startOffset ? (name, partition) => options.startOffset!(keyOf(name), partition) : undefined,
    },
  );
}
