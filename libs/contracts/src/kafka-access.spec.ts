import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { KAFKA_ACCESS, serviceAcls, topicHookAcls, type ServiceName } from './kafka-access.js';
import { TOPICS, type TopicKey } from './topic-registry.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) out.push(...sources(path));
    else if (entry.endsWith('.ts') && !/\.(int-)?spec\.ts$|\.fixture\.ts$/.test(entry)) out.push(path);
  }
  return out;
}

const keysIn = (list: string): TopicKey[] => [...list.matchAll(/'(\w+)'/g)].map((m) => m[1] as TopicKey);

/** What a service's code does on Kafka, read from its source (the calls of KafkaBus). */
function scan(service: ServiceName): Record<'consumes' | 'replays' | 'publishes' | 'retryTiers' | 'named', Set<TopicKey>> {
  const found = {
    consumes: new Set<TopicKey>(),
    replays: new Set<TopicKey>(),
    publishes: new Set<TopicKey>(),
    retryTiers: new Set<TopicKey>(),
    named: new Set<TopicKey>(),
  };
  for (const file of sources(join(ROOT, 'services', service, 'src'))) {
    const text = readFileSync(file, 'utf8');
    const add = (set: Set<TopicKey>, keys: TopicKey[]): void => keys.forEach((k) => set.add(k));
    for (const m of text.matchAll(/\bpublish\(\s*'(\w+)'/g)) add(found.publishes, [m[1] as TopicKey]);
    for (const m of text.matchAll(/\btopic:\s*'(\w+)'/g)) add(found.publishes, [m[1] as TopicKey]);
    for (const m of text.matchAll(/sendRaw\(\s*topicName\('(\w+)'/g)) add(found.publishes, [m[1] as TopicKey]);
    for (const m of text.matchAll(/\btopics:\s*\[([^\]]*)\]/g)) {
      add(found.consumes, keysIn(m[1]!));
      if (/retryTopic:\s*true/.test(text)) add(found.retryTiers, keysIn(m[1]!));
    }
    for (const m of text.matchAll(/\breplay\(\s*\[([^\]]*)\]/g)) add(found.replays, keysIn(m[1]!));
    for (const m of text.matchAll(/\btopicName\(\s*'(\w+)'/g)) add(found.named, [m[1] as TopicKey]);
    // libs/service-kit's SiteDirectory replays `sites`, then follows it in a group.
    if (/\bSiteDirectory\b/.test(text)) {
      add(found.consumes, ['sites']);
      add(found.replays, ['sites']);
    }
  }
  return found;
}

const sorted = (s: Iterable<string>): string[] => [...s].sort();

describe('KAFKA_ACCESS (the source of the ACL table and the Strimzi KafkaUsers)', () => {
  for (const service of Object.keys(KAFKA_ACCESS) as ServiceName[]) {
    it(`matches what ${service}'s code publishes, consumes and replays`, () => {
      const declared = KAFKA_ACCESS[service];
      const found = scan(service);
      assert.deepEqual(sorted(found.publishes), sorted(declared.publishes), 'publishes');
      assert.deepEqual(sorted(found.consumes), sorted(declared.consumes), 'consumes');
      assert.deepEqual(sorted(found.replays), sorted(declared.replays), 'replays');
      assert.deepEqual(sorted(found.retryTiers), sorted(declared.retryTiers), 'retry tiers');
      const declaredAll = new Set([...declared.publishes, ...declared.consumes, ...declared.replays]);
      for (const k of found.named) assert.ok(declaredAll.has(k), `${service} names topic ${k} but declares no access to it`);
      for (const k of declaredAll) assert.ok(k in TOPICS, `${k} is not in the registry`);
    });
  }

  it('every registry topic is written by some service and read by some service', () => {
    const written = new Set(Object.values(KAFKA_ACCESS).flatMap((a) => a.publishes));
    const read = new Set(Object.values(KAFKA_ACCESS).flatMap((a) => [...a.consumes, ...a.replays]));
    for (const key of Object.keys(TOPICS) as TopicKey[]) {
      assert.ok(written.has(key), `${key} has no producer`);
      assert.ok(read.has(key), `${key} has no reader`);
    }
  });

  it('grants a consumer its dead letters and groups under the environment prefix, and nothing to other topics', () => {
    const acls = serviceAcls('conversion-export', 'prod.');
    const topics = acls.filter((a) => a.resource.type === 'topic').map((a) => `${a.resource.name} ${a.operations.join(',')}`);
    assert.deepEqual(topics, [
      'prod.calltrack.attributed-calls.v1 Read,Describe',
      'prod.calltrack.export-deliveries.v1 Read,Write,Describe',
      'prod.calltrack.attributed-calls.v1.dlq Write,Describe',
      'prod.calltrack.attributed-calls.v1.retry Read,Write,Describe',
    ]);
    assert.deepEqual(
      acls.filter((a) => a.resource.type === 'group').map((a) => [a.resource.name, a.resource.patternType]),
      [
        ['prod.conversion-export', 'prefix'],
        ['prod.replay-conversion-export-', 'prefix'],
      ],
    );
    assert.deepEqual(topicHookAcls('prod.')[0]?.operations, ['Create', 'Describe', 'DescribeConfigs']);
  });

  it('docs/kafka-acls.md and the chart file are what scripts/gen-kafka-acls.mjs writes now', () => {
    execFileSync(process.execPath, [join(ROOT, 'scripts/gen-kafka-acls.mjs'), '--check'], { stdio: 'pipe' });
  });
});
