import kafkajs from 'kafkajs';
import type { KafkaJs } from './kafka-client.js';

const { ConfigResourceTypes } = kafkajs;
type Admin = ReturnType<KafkaJs['admin']>;

/**
 * Settings of an existing topic that must be what the registry says, or the platform's numbers
 * go wrong: a compacted topic (latest record per key = state) cleaned by time loses state, a
 * deleted-by-time topic compacted loses history; a shorter retention on an event log that state
 * is rebuilt from loses the state. Refused on keyed topics; on dead-letter and retry twins a
 * difference is reported, not refused (they hold no state).
 */
export const ENFORCED_TOPIC_CONFIGS = ['cleanup.policy', 'retention.ms'] as const;

/** One setting of an existing topic that differs from the registry. */
export interface TopicConfigMismatch {
  topic: string;
  config: string;
  expected: string;
  actual: string;
  /** True when it makes provisioning fail (an enforced setting of a keyed topic). */
  refused: boolean;
}

export interface TopicConfigExpectation {
  name: string;
  config: Record<string, string>;
  /** Keyed topic (its partitions and settings are part of the contract). */
  fixedPartitions: boolean;
}

const DESCRIBE_CHUNK = 50;

/** cleanup.policy is a list ("compact,delete"): compared as a set. */
function same(config: string, expected: string, actual: string): boolean {
  if (config === 'cleanup.policy') {
    const set = (v: string): string => [...new Set(v.split(',').map((p) => p.trim()))].sort().join(',');
    return set(expected) === set(actual);
  }
  return expected.trim() === actual.trim();
}

/** The declared settings of `wanted` (existing topics) that differ on the broker. */
export async function topicConfigMismatches(admin: Admin, wanted: TopicConfigExpectation[]): Promise<TopicConfigMismatch[]> {
  const declared = wanted.filter((t) => Object.keys(t.config).length > 0);
  const out: TopicConfigMismatch[] = [];
  for (let i = 0; i < declared.length; i += DESCRIBE_CHUNK) {
    const chunk = declared.slice(i, i + DESCRIBE_CHUNK);
    const answer = await admin.describeConfigs({
      includeSynonyms: false,
      resources: chunk.map((t) => ({ type: ConfigResourceTypes.TOPIC, name: t.name, configNames: Object.keys(t.config) })),
    });
    const byName = new Map(answer.resources.map((r) => [r.resourceName, r]));
    for (const t of chunk) {
      const resource = byName.get(t.name);
      if (!resource || resource.errorCode !== 0) {
        throw new Error(`could not read the settings of topic ${t.name}: ${resource?.errorMessage ?? 'no answer'} (error ${resource?.errorCode ?? '?'})`);
      }
      const actual = new Map(resource.configEntries.map((e) => [e.configName, e.configValue]));
      for (const [config, expected] of Object.entries(t.config)) {
        const value = actual.get(config);
        if (value === undefined || value === null || same(config, expected, value)) continue;
        out.push({
          topic: t.name,
          config,
          expected,
          actual: value,
          refused: t.fixedPartitions && (ENFORCED_TOPIC_CONFIGS as readonly string[]).includes(config),
        });
      }
    }
  }
  return out;
}

export function describeMismatch(m: TopicConfigMismatch): string {
  return `${m.topic} has ${m.config}=${m.actual}, registry says ${m.expected}`;
}

/** The current value of `configNames` of each named topic (tools and tests). */
export async function describeTopicConfigs(kafka: KafkaJs, names: string[], configNames: string[]): Promise<Map<string, Record<string, string>>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const answer = await admin.describeConfigs({
      includeSynonyms: false,
      resources: names.map((name) => ({ type: ConfigResourceTypes.TOPIC, name, configNames })),
    });
    return new Map(answer.resources.map((r) => [r.resourceName, Object.fromEntries(r.configEntries.map((e) => [e.configName, e.configValue]))]));
  } finally {
    await admin.disconnect();
  }
}
