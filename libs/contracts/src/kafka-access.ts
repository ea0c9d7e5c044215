// What each service does on Kafka, next to the topic registry: the source of the ACL table
// (docs/kafka-acls.md) and of the chart's Strimzi KafkaUsers (charts/calltrack/files/kafka-access.json),
// both written by scripts/gen-kafka-acls.mjs. kafka-access.spec.ts checks it against the services'
// code (which topics they publish, consume and replay), so it cannot drift.
import { deadLetterTopicName, retryTopicName, topicName, type TopicKey } from './topic-registry.js';

export type ServiceName = 'session-tracker' | 'number-pool' | 'telephony-ingest' | 'attribution' | 'conversion-export' | 'antifraud';

export interface ServiceKafkaAccess {
  /** Topics read by a consumer group (offsets committed; failures dead-lettered to `<topic>.dlq`). */
  consumes: readonly TopicKey[];
  /** Topics read from the start by a throw-away replay group (state rebuilt at start). */
  replays: readonly TopicKey[];
  /** Topics written to (idempotent producer, no transactions). */
  publishes: readonly TopicKey[];
  /** Consumed topics whose retry tier (`<topic>.retry`, group `<group>.retry`) it uses. */
  retryTiers: readonly TopicKey[];
}

// SiteDirectory (libs/service-kit) replays `sites` and follows it in a per-instance group: its users list `sites` in both.
export const KAFKA_ACCESS: Readonly<Record<ServiceName, ServiceKafkaAccess>> = {
  'session-tracker': {
    consumes: ['sites', 'poolEvents', 'antifraudVerdicts'],
    replays: ['sites'],
    publishes: ['sessions', 'poolCommands'],
    retryTiers: [],
  },
  'number-pool': {
    consumes: ['sites', 'poolEvents', 'poolCommands', 'calls'],
    replays: ['sites', 'poolEvents', 'poolSnapshots'],
    publishes: ['sites', 'poolEvents', 'poolSnapshots', 'poolCommands'],
    retryTiers: [],
  },
  'telephony-ingest': {
    consumes: ['sites', 'telephonySecrets', 'calls'],
    replays: ['sites', 'telephonySecrets'],
    publishes: ['calls', 'telephonySecrets', 'enquiries'],
    retryTiers: [],
  },
  attribution: {
    consumes: ['sites', 'sessions', 'poolEvents', 'antifraudVerdicts', 'attributionSettings', 'callAnnotations', 'adCosts', 'screenedCalls', 'enquiries'],
    replays: ['sites', 'attributionSettings'],
    publishes: ['attributionSettings', 'callAnnotations', 'adCosts', 'attributedCalls'],
    retryTiers: [],
  },
  'conversion-export': {
    consumes: ['attributedCalls'],
    replays: ['exportDeliveries'],
    publishes: ['exportDeliveries'],
    retryTiers: ['attributedCalls'],
  },
  antifraud: {
    consumes: ['sites', 'antifraudBlocklist', 'calls', 'sessions'],
    replays: ['sites', 'antifraudBlocklist'],
    publishes: ['antifraudBlocklist', 'screenedCalls', 'antifraudVerdicts'],
    retryTiers: [],
  },
};

export type AclOperation = 'Read' | 'Write' | 'Describe' | 'DescribeConfigs' | 'Create' | 'Delete' | 'IdempotentWrite';

/** One ACL of a principal, in Kafka's (and Strimzi's) terms. */
export interface KafkaAcl {
  resource: { type: 'topic' | 'group' | 'cluster'; name?: string; patternType?: 'literal' | 'prefix' };
  operations: AclOperation[];
  /** Why the service needs it. */
  why: string;
}

/**
 * The ACLs a service needs under `prefix` (KAFKA_TOPIC_PREFIX). Consumer groups: every group of a
 * service starts with its client id (KAFKA_CLIENT_ID, default the service name: `<service>`,
 * `<service>.<purpose>`, per-instance `<service>.<purpose>.<uuid>`), replay groups with
 * `replay-<client id>-`; both are granted by prefix.
 */
export function serviceAcls(service: ServiceName, prefix = '', clientId: string = service): KafkaAcl[] {
  const a = KAFKA_ACCESS[service];
  const acls: KafkaAcl[] = [];
  const topic = (name: string, operations: AclOperation[], why: string): void => {
    acls.push({ resource: { type: 'topic', name, patternType: 'literal' }, operations, why });
  };
  const keys = [...new Set([...a.consumes, ...a.replays, ...a.publishes])];
  for (const key of keys) {
    const ops: AclOperation[] = [];
    const why: string[] = [];
    if (a.consumes.includes(key) || a.replays.includes(key)) {
      ops.push('Read');
      why.push(
        a.consumes.includes(key) && a.replays.includes(key) ? 'replayed at start, then consumed' : a.consumes.includes(key) ? 'consumed' : 'replayed at start',
      );
    }
    if (a.publishes.includes(key)) {
      ops.push('Write');
      why.push('published');
    }
    ops.push('Describe');
    topic(topicName(key, prefix), ops, why.join('; '));
  }
  for (const key of a.consumes) topic(deadLetterTopicName(topicName(key, prefix)), ['Write', 'Describe'], 'dead letters of its consumers');
  for (const key of a.retryTiers) topic(retryTopicName(topicName(key, prefix)), ['Read', 'Write', 'Describe'], 'retry tier: parked and retried records');
  acls.push({
    resource: { type: 'group', name: `${prefix}${clientId}`, patternType: 'prefix' },
    operations: ['Read', 'Describe', 'Delete'],
    why: 'its consumer groups, per-instance ones included (Delete: an instance removes its own)',
  });
  acls.push({
    resource: { type: 'group', name: `${prefix}replay-${clientId}-`, patternType: 'prefix' },
    operations: ['Read', 'Describe', 'Delete'],
    why: 'throw-away replay groups (offsets set, then deleted)',
  });
  acls.push({ resource: { type: 'cluster' }, operations: ['IdempotentWrite'], why: 'idempotent producer (brokers before Kafka 3.0 only)' });
  return acls;
}

/** The topic hook (provisioning CLI): creates missing topics and checks the existing ones' settings. */
export function topicHookAcls(prefix = ''): KafkaAcl[] {
  return [
    {
      resource: { type: 'topic', name: `${prefix}calltrack.`, patternType: 'prefix' },
      operations: ['Create', 'Describe', 'DescribeConfigs'],
      why: 'creates missing topics, reads partition counts and settings; never alters or deletes',
    },
  ];
}
