import { provisionedTopics, TOPICS, topicName, type TopicKey } from '@calltrack/contracts';
import type { Logger } from '@calltrack/telemetry';
import { isTransientKafkaError, kafkaErrorType, MetadataUnansweredError } from './errors.js';
import type { KafkaJs } from './kafka-client.js';
import { describeMismatch, topicConfigMismatches } from './topic-config-check.js';

type Admin = ReturnType<KafkaJs['admin']>;

/** One topic to provision. */
export interface TopicToProvision {
  name: string;
  partitions: number;
  config: Record<string, string>;
  /**
   * The partition count is part of the contract (keyed topics: a key's partition, and so which
   * instance owns a site, follows from it): an existing topic with another count is refused, never
   * grown. Dead-letter and retry twins are not keyed by ownership and accept any count.
   */
  fixedPartitions: boolean;
}

export interface ProvisionOptions {
  replicationFactor?: number;
  /** How long to keep trying the broker's transient answers before failing (default 3 minutes). */
  deadlineMs?: number;
}

/** Partitions per topic as the metadata shows them, and which of them have a leader. */
interface TopicState {
  partitions: number;
  leaderless: number;
}

// Below the Helm hook's activeDeadlineSeconds (240 s), so the job ends with this error, not a kill.
const DEFAULT_DEADLINE_MS = 180_000;
const METADATA_CHUNK = 100;

/** The registry's topics with their dead-letter and retry twins, under `prefix`. */
export function registryTopics(prefix: string): TopicToProvision[] {
  const keyed = new Set((Object.keys(TOPICS) as TopicKey[]).map((k) => topicName(k, prefix)));
  return provisionedTopics(prefix).map((t) => ({ ...t, fixedPartitions: keyed.has(t.name) }));
}

/**
 * Creates every topic of the registry (and its dead-letter and retry twins) that does
 * not exist yet, with the registry's partitions and config, and returns only when every
 * one of them is in the metadata with a leader for every partition. The broker's
 * transient answers (topic not known yet, no leader yet, controller moved, timeouts, a
 * concurrent creator) are retried until `deadlineMs`; then the error names the topics
 * not ready. An existing keyed topic whose partition count differs from the registry
 * is refused: adding partitions would move keys (sites) to other partitions; so is one whose
 * cleanup.policy or retention.ms differs (topic-config-check.ts). Existing topics are never altered.
 */
export async function provisionTopics(
  kafka: KafkaJs,
  prefix: string,
  logger: Logger,
  replicationFactor = 1,
  options: Omit<ProvisionOptions, 'replicationFactor'> = {},
): Promise<{ created: string[]; existing: string[] }> {
  return ensureTopics(kafka, registryTopics(prefix), logger, { ...options, replicationFactor });
}

/** provisionTopics for any list of topics (tests, tools). */
export async function ensureTopics(
  kafka: KafkaJs,
  wanted: TopicToProvision[],
  logger: Logger,
  options: ProvisionOptions = {},
): Promise<{ created: string[]; existing: string[] }> {
  const deadline = Date.now() + (options.deadlineMs ?? DEFAULT_DEADLINE_MS);
  const started = Date.now();
  // No retries inside kafkajs (some of its calls wait up to a minute on one answer): these loops retry against one deadline.
  const admin = kafka.admin({ retry: { retries: 0 } });
  await retryTransient(() => admin.connect(), deadline, logger, 'connect');
  try {
    // What exists before we create anything: reported as "existing" and checked for its partition count.
    const before = await retryTransient(
      () =>
        topicStates(
          admin,
          wanted.map((t) => t.name),
        ),
      deadline,
      logger,
      'metadata',
    );
    const existing = wanted.filter((t) => before.has(t.name));
    const wrong = existing.filter((t) => t.fixedPartitions && before.get(t.name)!.partitions !== t.partitions);
    // Existing topics' settings against the registry (cleanup policy, retention): checked before
    // anything is created, and reported together with a partition mismatch. Nothing is ever altered.
    const settings = await retryTransient(() => topicConfigMismatches(admin, existing), deadline, logger, 'describe configs');
    for (const m of settings.filter((x) => !x.refused)) {
      logger.warn({ event: 'kafka_topic_config_differs', topic: m.topic, config: m.config, expected: m.expected, actual: m.actual }, describeMismatch(m));
    }
    const refusedSettings = settings.filter((m) => m.refused);
    if (wrong.length > 0 || refusedSettings.length > 0) {
      const problems: string[] = [];
      if (wrong.length > 0) {
        problems.push(
          `refusing to change existing topics whose partition count differs from the registry (adding partitions moves keys to other partitions): ${wrong
            .map((t) => `${t.name} has ${before.get(t.name)!.partitions}, registry says ${t.partitions}`)
            .join('; ')}`,
        );
      }
      if (refusedSettings.length > 0) {
        problems.push(
          `existing keyed topics whose settings differ from the registry (fix them on the cluster or recreate them): ` +
            `${refusedSettings.map(describeMismatch).join('; ')}`,
        );
      }
      throw new Error(`${problems.join('. ')}. See docs/topics.md.`);
    }
    const toCreate = wanted.filter((t) => !before.has(t.name));
    let pending = toCreate;
    let lastError: unknown;
    let round = 0;
    while (pending.length > 0) {
      try {
        await admin.createTopics({
          // Readiness is checked below, for every topic, with our own deadline.
          waitForLeaders: false,
          timeout: 30_000,
          topics: pending.map((t) => ({
            topic: t.name,
            numPartitions: t.partitions,
            replicationFactor: options.replicationFactor ?? 1,
            configEntries: Object.entries(t.config).map(([name, value]) => ({ name, value })),
          })),
        });
      } catch (err) {
        // Another provisioner racing us (TOPIC_ALREADY_EXISTS) or a transient answer: see what exists now.
        if (!isTransientKafkaError(err)) throw creationError(err);
        lastError = err;
      }
      const now = await retryTransient(
        () =>
          topicStates(
            admin,
            pending.map((t) => t.name),
          ),
        deadline,
        logger,
        'metadata',
      );
      pending = pending.filter((t) => !now.has(t.name));
      if (pending.length === 0) break;
      if (Date.now() > deadline)
        throw notReady(
          'topics were not created',
          pending.map((t) => t.name),
          started,
          lastError,
        );
      await sleep(backoff(round++));
    }
    await waitForLeaders(admin, wanted, deadline, started, logger);
    logger.info({ event: 'kafka_topics_provisioned', created: toCreate.length, existing: existing.length, ms: Date.now() - started });
    return { created: toCreate.map((t) => t.name), existing: existing.map((t) => t.name) };
  } finally {
    await admin.disconnect();
  }
}

/**
 * Waits until every named topic exists with a leader for every partition, for as long
 * as `isRunning()` says (services that start before their topics are provisioned wait,
 * not ready, instead of crashing). Logs the missing topics every 30 s.
 */
export async function waitForTopics(
  kafka: KafkaJs,
  names: string[],
  logger: Logger,
  isRunning: () => boolean = () => true,
  onWaiting?: () => void,
): Promise<boolean> {
  const admin = kafka.admin({ retry: { retries: 0 } });
  let connected = false;
  let lastLog = 0;
  try {
    for (let round = 0; isRunning(); round++) {
      try {
        if (!connected) {
          await admin.connect();
          connected = true;
        }
        const states = await topicStates(admin, names);
        const led = names.filter((n) => states.has(n) && states.get(n)!.partitions > 0 && states.get(n)!.leaderless === 0);
        const served = await servedTopics(admin, led);
        const missing = names.filter((n) => !served.has(n));
        if (missing.length === 0) return true;
        onWaiting?.();
        if (Date.now() - lastLog > 30_000) {
          lastLog = Date.now();
          logger.warn({ event: 'kafka_topics_missing', topics: missing.slice(0, 20), count: missing.length }, 'waiting for topics to be provisioned');
        }
      } catch (err) {
        if (!isTransientKafkaError(err)) throw err;
        onWaiting?.();
        if (Date.now() - lastLog > 30_000) {
          lastLog = Date.now();
          logger.warn({ event: 'kafka_topics_unreachable', err: (err as Error).message }, 'waiting for the Kafka cluster');
        }
      }
      await sleep(backoff(round));
    }
    return false;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

async function waitForLeaders(admin: Admin, wanted: TopicToProvision[], deadline: number, started: number, logger: Logger): Promise<void> {
  let pending = wanted.map((t) => t.name);
  let round = 0;
  for (;;) {
    const states = await retryTransient(() => topicStates(admin, pending), deadline, logger, 'metadata');
    const led = pending.filter((n) => {
      const s = states.get(n);
      return s !== undefined && s.partitions > 0 && s.leaderless === 0;
    });
    const served = await servedTopics(admin, led);
    pending = pending.filter((n) => !served.has(n));
    if (pending.length === 0) return;
    if (Date.now() > deadline) throw notReady('topics have no serving leader for every partition', pending, started);
    await sleep(backoff(round++));
  }
}

/**
 * The topics whose every partition leader answers for it. The metadata can name a leader
 * before that broker serves the partition (NOT_LEADER_FOR_PARTITION to a ListOffsets just
 * after creation): a consumer or a replay started then would fail.
 */
async function servedTopics(admin: Admin, names: string[]): Promise<Set<string>> {
  const served = new Set<string>();
  const queue = [...names];
  const worker = async (): Promise<void> => {
    for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
      try {
        await admin.fetchTopicOffsets(name);
        served.add(name);
      } catch (err) {
        if (!isTransientKafkaError(err) && !isUnlistedTopicAnswer(err)) throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(8, names.length) }, worker));
  return served;
}

/**
 * kafkajs's fetchTopicOffsets destructures the broker's offsets answer for the topic without
 * checking that it names the topic (a topic created a moment ago whose partitions the broker
 * does not list yet: "Cannot destructure property 'partitions' of 'high.pop(...)'"): the topic
 * is not served yet and is asked again in the next round, like any transient error.
 */
export function isUnlistedTopicAnswer(err: unknown): boolean {
  return err instanceof TypeError && /Cannot destructure property 'partitions' of '(high|low)\.pop\(\.\.\.\)'/.test(err.message);
}

/**
 * kafkajs's admin reads `cluster.metadata()` without checking for its null answer (no broker
 * answered) and then fails with a TypeError: turned into a transient error here.
 */
async function answered<T>(request: () => Promise<T>): Promise<T> {
  try {
    return await request();
  } catch (err) {
    if (err instanceof TypeError && /null|undefined/.test(err.message) && err.message.includes('topicMetadata'))
      throw new MetadataUnansweredError({ cause: err });
    throw err;
  }
}

/** kafkajs's fetchTopicMetadata, with its null answer (no broker answered) turned into a transient error. */
export const fetchTopicMetadata = (admin: Admin, topics: string[]): ReturnType<Admin['fetchTopicMetadata']> =>
  answered(() => admin.fetchTopicMetadata({ topics }));

/** kafkajs's listTopics, likewise. */
export const listTopics = (admin: Admin): Promise<string[]> => answered(() => admin.listTopics());

/**
 * Metadata of the named topics; a topic absent from the answer does not exist (yet). A
 * request for many topics fails as a whole when one of them is not ready (kafkajs throws on
 * any topic or partition error), so a failed chunk is split until the culprits are isolated.
 */
async function topicStates(admin: Admin, names: string[]): Promise<Map<string, TopicState>> {
  const out = new Map<string, TopicState>();
  const probe = async (chunk: string[]): Promise<void> => {
    try {
      const meta = await fetchTopicMetadata(admin, chunk);
      for (const t of meta.topics) out.set(t.name, { partitions: t.partitions.length, leaderless: t.partitions.filter((p) => p.leader < 0).length });
    } catch (err) {
      // Nobody answered at all: splitting would only ask again, so the caller's backoff takes over.
      if (!isTransientKafkaError(err) || err instanceof MetadataUnansweredError) throw err;
      if (chunk.length === 1) {
        // Unknown: absent, or created but not yet known to the broker answering. Otherwise listed but not ready.
        if (kafkaErrorType(err) !== 'UNKNOWN_TOPIC_OR_PARTITION') out.set(chunk[0]!, { partitions: 0, leaderless: 1 });
        return;
      }
      const half = Math.ceil(chunk.length / 2);
      await probe(chunk.slice(0, half));
      await probe(chunk.slice(half));
    }
  };
  // The cluster-wide listing first (one request) to skip topics that do not exist; it fails while
  // any topic of the cluster has no leader (a shared cluster), and then every name is probed.
  let listed: Set<string> | undefined;
  try {
    listed = new Set(await listTopics(admin));
  } catch (err) {
    if (!isTransientKafkaError(err)) throw err;
  }
  const candidates = listed ? names.filter((n) => listed.has(n)) : names;
  for (let i = 0; i < candidates.length; i += METADATA_CHUNK) await probe(candidates.slice(i, i + METADATA_CHUNK));
  return out;
}

/** Retries `fn` on transient Kafka errors until `deadline` (at least once more after a failure). */
async function retryTransient<T>(fn: () => Promise<T>, deadline: number, logger: Logger, what: string): Promise<T> {
  for (let round = 0; ; round++) {
    try {
      return await fn();
    } catch (err) {
      if (!isTransientKafkaError(err) || Date.now() > deadline) throw err;
      logger.warn({ event: 'kafka_admin_retry', what, attempt: round + 1, err: (err as Error).message });
      await sleep(backoff(round));
    }
  }
}

/** The broker's refusal per topic (kafkajs reports only "Topic creation errors"). */
function creationError(err: unknown): Error {
  const inner = (err as { errors?: Array<{ topic?: string; type?: string; message?: string }> }).errors;
  if (!Array.isArray(inner)) return err as Error;
  const reasons = inner.filter((e) => e.type !== 'TOPIC_ALREADY_EXISTS').map((e) => `${e.topic ?? '?'}: ${e.type ?? ''} ${e.message ?? ''}`.trim());
  return new Error(`the broker refused to create ${reasons.length} topics: ${reasons.slice(0, 20).join('; ')}`, { cause: err });
}

function notReady(what: string, names: string[], started: number, cause?: unknown): Error {
  const shown = names.slice(0, 20).join(', ');
  const more = names.length > 20 ? ` and ${names.length - 20} more` : '';
  return new Error(
    `${names.length} ${what} within ${Math.round((Date.now() - started) / 1000)} s: ${shown}${more}`,
    cause === undefined ? undefined : { cause },
  );
}

const backoff = (round: number): number => Math.min(100 * 2 ** round, 2_000);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Deletes every topic with the given prefix (test clean-up). Refuses an empty prefix. */
export async function deletePrefixedTopics(kafka: KafkaJs, prefix: string): Promise<number> {
  if (!prefix) throw new Error('refusing to delete topics without a prefix');
  const admin = kafka.admin();
  await admin.connect();
  try {
    const topics = (await listTopics(admin)).filter((t) => t.startsWith(prefix));
    if (topics.length > 0) await admin.deleteTopics({ topics });
    return topics.length;
  } finally {
    await admin.disconnect();
  }
}
