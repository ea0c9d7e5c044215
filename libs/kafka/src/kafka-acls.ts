import kafkajs from 'kafkajs';
import type { AclOperation, KafkaAcl } from '@calltrack/contracts';
import type { KafkaJs } from './kafka-client.js';

const { AclOperationTypes, AclPermissionTypes, AclResourceTypes, ResourcePatternTypes } = kafkajs;

const OPERATIONS: Record<AclOperation, number> = {
  Read: AclOperationTypes.READ,
  Write: AclOperationTypes.WRITE,
  Describe: AclOperationTypes.DESCRIBE,
  DescribeConfigs: AclOperationTypes.DESCRIBE_CONFIGS,
  Create: AclOperationTypes.CREATE,
  Delete: AclOperationTypes.DELETE,
  IdempotentWrite: AclOperationTypes.IDEMPOTENT_WRITE,
};

/**
 * Creates `acls` (libs/contracts serviceAcls / topicHookAcls) as ALLOW entries for `User:<user>`,
 * one per operation; the caller must be allowed to alter the cluster's ACLs. Returns how many.
 */
export async function createAcls(kafka: KafkaJs, user: string, acls: readonly KafkaAcl[]): Promise<number> {
  const entries = acls.flatMap((a) =>
    a.operations.map((op) => ({
      resourceType: a.resource.type === 'topic' ? AclResourceTypes.TOPIC : a.resource.type === 'group' ? AclResourceTypes.GROUP : AclResourceTypes.CLUSTER,
      resourceName: a.resource.type === 'cluster' ? 'kafka-cluster' : (a.resource.name ?? ''),
      resourcePatternType: a.resource.patternType === 'prefix' ? ResourcePatternTypes.PREFIXED : ResourcePatternTypes.LITERAL,
      principal: `User:${user}`,
      host: '*',
      operation: OPERATIONS[op],
      permissionType: AclPermissionTypes.ALLOW,
    })),
  );
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createAcls({ acl: entries });
  } finally {
    await admin.disconnect();
  }
  return entries.length;
}
