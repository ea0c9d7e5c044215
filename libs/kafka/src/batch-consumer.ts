import { decodeEvent, deadLetterTopicName, retryTopicName, TOPICS, topicName, type AnyDomainEvent, type TopicKey } from '@calltrack/contracts';
import { extractTraceContext, SpanKind, tracer, withSpan, type Logger } from '@calltrack/telemetry';
import { randomUUID } from 'node:crypto';
import pRetry from 'p-retry';
import { secondsSince } from '@calltrack/telemetry';
import { MemberTelemetry } from './consumer-metrics.js';
import { kafkaErrorType, NonRetriableError } from './errors.js';
import type { EventProducer } from './event-producer.js';
import type { KafkaJs, KafkaSettings } from './kafka-client.js';
import { waitForTopics } from './topic-admin.js';

type KafkaConsumer = ReturnType<KafkaJs['consumer']>;
type KafkaMessage = { key: Buffer | null; value: Buffer | null; headers?: Record<string, unknown>; offset: string; timestamp: string };

/** One decoded record handed to a handler. */
export interface ConsumedRecord {
  topic: TopicKey;
  topicName: string;
  partition: number;
  offset: string;
  key: string | null;
  event: AnyDomainEvent;
  timestampMs: number;
  /**
   * Tells the group coordinator this member is alive. A handler that may take longer than a
   * fraction of the session timeout (an HTTP delivery with retries) calls it between attempts,
   * or the member is evicted and the batch redone.
   */
  heartbeat(): Promise<void>;
}

export interface BatchConsumerOptions {
  /** Consumer group without the environment prefix; one group per independent stream of work. */
  groupId: string;
  /**
   * For state every instance must see in full (e.g. site configuration): the group
   * gets a unique suffix, so each instance reads every partition, and is deleted on
   * stop instead of lingering on the broker after every restart.
   */
  perInstance?: boolean;
  topics: TopicKey[];
  /** Where a group with no committed offset starts. */
  fromBeginning?: boolean;
  /** Processes one record. Must be idempotent by event id: a record can be redelivered after a crash. */
  handle(record: ConsumedRecord): Promise<void>;
  /** Makes the work of the batch durable (e.g. one ClickHouse insert); offsets are committed after it. */
  flush?(): Promise<void>;
  partitionsConsumedConcurrently?: number;
  /** Overrides KafkaSettings.maxRetries for this consumer. */
  maxRetries?: number;
  /** First backoff between attempts; doubles each time. */
  retryDelayMs?: number;
  /**
   * Use the registry's retry tier (TopicSpec.retryDelaysMs): a record whose
   * in-process retries ran out is tried again later from `<topic>.retry` by a
   * second group (`<groupId>.retry`) instead of going straight to the dead letters.
   */
  retryTopic?: boolean;
  /** Overrides the registry's retry delays (configuration, tests). */
  retryDelaysMs?: readonly number[];
  /**
   * Called on every group join with this member's partitions per topic, before
   * any batch of the new assignment is handled: a single writer per partition
   * drops the state of partitions it lost and rebuilds those it gained.
   */
  onAssignment?(partitions: ReadonlyMap<TopicKey, readonly number[]>): void;
  /**
   * Commit at most this often instead of after every batch, for consumers whose
   * handling is idempotent (a redelivered record changes nothing): the offset of a
   * batch is still only marked for commit after its flush, so nothing undone is
   * ever committed, but the next fetch does not wait for a commit round trip.
   */
  commitIntervalMs?: number;
  /**
   * Longest time one record is tried in process, from its first attempt, across redeliveries
   * (a rebalance or an eviction in between): then it goes to the retry tier or the dead
   * letters, so no record holds its partition longer. Default 60 s.
   */
  maxRecordMs?: number;
  /**
   * Longest time the consumer heartbeats on behalf of one handler or flush call that has not
   * returned nor called the record's heartbeat itself (default 60 s): a flush working through a
   * backlog in steps heartbeats between them and stays in the group, while within a step (a
   * lock, a slow query) the consumer heartbeats for it. Past it the member stops heartbeating
   * and the group's failure detection takes over: a handler stuck for good cannot keep its partitions.
   */
  maxBlockedMs?: number;
  /**
   * Restarts (with backoff from 1 s to 30 s) of a member that crashed for good before it is
   * declared dead and isLive() turns false (default 10, about 3 minutes of trying).
   */
  maxRestarts?: number;
  /**
   * Longest time a member may stay out of its group (rebalancing, re-joining, reconnecting)
   * before its kafkajs consumer is replaced by a new one that joins afresh (default: three
   * session timeouts, at least 30 s). A join waits at most about one session timeout for a
   * dead member to expire; longer, the client is stuck (seen after a broker was killed: a
   * member re-joining in a loop for minutes). Replacements do not count towards maxRestarts.
   */
  joinTimeoutMs?: number;
}

/** Headers of a record parked on a retry topic (original key, value and headers kept). */
export const RETRY_HEADERS = {
  attempt: 'retry_attempt',
  notBefore: 'retry_not_before',
  error: 'retry_error',
  sourceTopic: 'retry_source_topic',
  sourcePartition: 'retry_source_partition',
  sourceOffset: 'retry_source_offset',
} as const;

/** Header names added to a dead-lettered copy of a record; the original key, value and headers are kept. */
export const DLQ_HEADERS = {
  reason: 'dlq_reason',
  error: 'dlq_error',
  sourceTopic: 'dlq_source_topic',
  sourcePartition: 'dlq_source_partition',
  sourceOffset: 'dlq_source_offset',
  consumerGroup: 'dlq_consumer_group',
  attempts: 'dlq_attempts',
  failedAt: 'dlq_failed_at',
} as const;

export type DeadLetterReason = 'undecodable' | 'non_retriable' | 'retries_exhausted';

/** One incarnation of a group member: a kafkajs consumer, replaced by a new one after a crash kafkajs does not restart from. */
interface Member {
  groupId: string;
  topics: string[];
  /** Consumes the retry tier: waits for each record's time before handling it. */
  retryTier: boolean;
  consumer: KafkaConsumer | undefined;
  /** Joined with a current assignment; false from a rebalance, crash, stop or disconnect until the next join. */
  assigned: boolean;
  /**
   * Assigned and fetching: the first fetch after a join has resolved the partitions' start
   * offsets, so a record published from now on is consumed (with "latest", one published
   * between the join and that fetch would be skipped).
   */
  joined: boolean;
  /** Restarts since the last successful join. */
  restarts: number;
  /** Since when the member has not been joined (valid while joined is false). */
  unjoinedSince: number;
  /** Commits the last batch's offsets after a quiet commit interval (commitIntervalMs consumers). */
  idleCommit?: NodeJS.Timeout;
  /** Set when the member gave up restarting: the process is no longer live. */
  dead: Error | undefined;
  /** Metrics and progress (lag, stall) of this member. */
  telemetry: MemberTelemetry;
  /** A stall was logged (once per stall). */
  stallLogged: boolean;
  /** Resolves the wait of the supervisor on the current incarnation (crash without restart, stop). */
  ended: ((err: Error | undefined) => void) | undefined;
  supervisor: Promise<void> | undefined;
}

const RESTART_DELAY_MS = 1_000;
const MIN_JOIN_TIMEOUT_MS = 30_000;
const JOIN_CHECK_MS = 1_000;

/** The member stayed out of its group longer than joinTimeoutMs: its client is replaced. */
class JoinTimedOut extends Error {
  constructor(readonly unjoinedMs: number) {
    super(`not joined for ${unjoinedMs} ms`);
  }
}
const MAX_RESTART_DELAY_MS = 30_000;
/** Records whose attempts are remembered across redeliveries (oldest forgotten first). */
const MAX_REMEMBERED = 10_000;
const PER_INSTANCE_SUFFIX = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(\.retry)?$/;

/** When the handlers or the flush of a batch last heartbeated by themselves: proof that they are not stuck. */
interface Progress {
  at: number;
}

/** The batch is given up without committing the record in hand (stopping, or the group rebalancing). */
class BatchAbandoned extends Error {
  constructor(
    readonly reason: 'stopping' | 'rebalance' | 'error',
    options?: { cause?: unknown },
  ) {
    super(`batch abandoned: ${reason}`, options);
  }
}

/**
 * A record failed and waits for its next attempt: its partition is paused and the batch
 * released, so the other partitions (fetched together with it by kafkajs) keep flowing.
 */
class RetryLater extends Error {
  constructor(readonly delayMs: number) {
    super(`retry in ${delayMs} ms`);
  }
}

interface AttemptMemo {
  /** Not to be tried again before this time (its backoff). */
  notBefore: number;
  count: number;
  firstAt: number;
  lastError: string | undefined;
  /** Dead-lettered or parked: a redelivery (its commit refused after an eviction) is not tried nor copied again. */
  settled: boolean;
}

/**
 * A consumer group member that processes batches and commits offsets only after
 * the batch's work is durable: each record is handled (with bounded retries,
 * then the retry tier or the dead-letter topic), then flush() runs, then offsets
 * are committed. It heartbeats between records, during backoffs and (bounded by
 * maxBlockedMs) while a handler or flush runs, so a slow record or a big batch does
 * not get the member evicted; a record's attempts are remembered across
 * redeliveries, so a record that keeps failing is dead-lettered even if the member
 * is evicted in between. A member that crashes for good is restarted with backoff;
 * after maxRestarts without a join it is dead and isLive() says so.
 */
export class BatchConsumer {
  private readonly members: Member[] = [];
  private readonly topicByName = new Map<string, TopicKey>();
  private readonly groupId: string;
  private readonly maxRetries: number;
  private readonly sessionTimeoutMs: number;
  private readonly heartbeatIntervalMs: number;
  private readonly maxRecordMs: number;
  private readonly maxBlockedMs: number;
  private readonly joinTimeoutMs: number;
  private readonly attempts = new Map<string, AttemptMemo>();
  /** Clients given up on (replaced or stopped): never restarted, never handed a batch. */
  private readonly retired = new WeakSet<KafkaConsumer>();
  private running = false;
  private readonly resumeTimers = new Set<NodeJS.Timeout>();
  private cleanupTimer: NodeJS.Timeout | undefined;
  private readonly tracer;

  constructor(
    private readonly kafka: KafkaJs,
    private readonly settings: KafkaSettings,
    private readonly producer: EventProducer,
    private readonly logger: Logger,
    private readonly options: BatchConsumerOptions,
  ) {
    this.groupId = `${settings.prefix}${options.groupId}${options.perInstance ? `.${randomUUID()}` : ''}`;
    this.maxRetries = options.maxRetries ?? settings.maxRetries ?? 5;
    this.sessionTimeoutMs = settings.sessionTimeoutMs ?? 15_000;
    this.heartbeatIntervalMs = Math.min(3_000, Math.floor(this.sessionTimeoutMs / 5));
    this.maxRecordMs = options.maxRecordMs ?? 60_000;
    this.maxBlockedMs = options.maxBlockedMs ?? 60_000;
    this.joinTimeoutMs = options.joinTimeoutMs ?? Math.max(MIN_JOIN_TIMEOUT_MS, 3 * this.sessionTimeoutMs);
    this.tracer = tracer(settings.clientId);
    const main: string[] = [];
    const retry: string[] = [];
    for (const key of options.topics) {
      const name = topicName(key, settings.prefix);
      this.topicByName.set(name, key);
      main.push(name);
      if (options.retryTopic && TOPICS[key].retryDelaysMs) {
        this.topicByName.set(retryTopicName(name), key);
        retry.push(retryTopicName(name));
      }
    }
    this.members.push(this.member(this.groupId, options.groupId, main, false));
    if (retry.length > 0) this.members.push(this.member(`${this.groupId}.retry`, `${options.groupId}.retry`, retry, true));
  }

  /** `label`: the group's name in metrics, without the environment prefix nor the per-instance suffix. */
  private member(groupId: string, label: string, topics: string[], retryTier: boolean): Member {
    const member: Member = {
      groupId,
      topics,
      retryTier,
      consumer: undefined,
      assigned: false,
      joined: false,
      restarts: 0,
      unjoinedSince: Date.now(),
      dead: undefined,
      telemetry: new MemberTelemetry(label, () => this.running && member.joined && !member.dead),
      stallLogged: false,
      ended: undefined,
      supervisor: undefined,
    };
    return member;
  }

  private newConsumer(member: Member): KafkaConsumer {
    const consumer = this.kafka.consumer({
      groupId: member.groupId,
      // A member killed without leaving holds its partitions until this expires (kafkajs has no
      // static membership), so keep it short; the consumer heartbeats between records, during
      // backoffs and while a handler or flush runs.
      sessionTimeout: this.sessionTimeoutMs,
      heartbeatInterval: this.heartbeatIntervalMs,
      maxWaitTimeInMs: 100,
      allowAutoTopicCreation: false,
      retry: {
        retries: 10,
        // kafkajs restarts a client after a retriable crash by itself, also one disconnected by us
        // mid-join (its JoinGroup fails on the closed connection): a retired client must stay down, or it
        // would rejoin the group beside its replacement and consume on.
        restartOnFailure: () => Promise.resolve(this.running && !this.retired.has(consumer)),
      },
    });
    // Events of an incarnation that was replaced change nothing.
    const current = () => member.consumer === consumer;
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      if (!current()) return;
      this.logger.info({ event: 'kafka_group_joined', group: member.groupId, assignment: e.payload.memberAssignment });
      const assignment = e.payload.memberAssignment as Record<string, number[]>;
      if (!member.retryTier && this.options.onAssignment) {
        const partitions = new Map<TopicKey, number[]>();
        for (const [name, list] of Object.entries(assignment)) {
          const key = this.topicByName.get(name);
          if (key)
            partitions.set(
              key,
              [...list].sort((a, b) => a - b),
            );
        }
        // A throw here makes kafkajs crash without restarting: the supervisor restarts the member.
        this.options.onAssignment(partitions);
      }
      member.assigned = true;
      member.telemetry.assigned(assignment);
      // A member with nothing assigned (more members than partitions) fetches nothing and is ready as it is.
      if (Object.values(assignment).every((list) => list.length === 0)) setJoined(member, true);
    });
    consumer.on(consumer.events.FETCH, () => {
      if (!current() || !member.assigned) return;
      member.telemetry.fetched();
      setJoined(member, true);
    });
    for (const event of [consumer.events.REBALANCING, consumer.events.STOP, consumer.events.DISCONNECT]) {
      consumer.on(event, () => {
        if (!current()) return;
        member.assigned = false;
        setJoined(member, false);
      });
    }
    consumer.on(consumer.events.CRASH, (e) => {
      if (!current()) return;
      member.assigned = false;
      setJoined(member, false);
      this.logger.error({ event: 'kafka_consumer_crash', group: member.groupId, err: e.payload.error, restart: e.payload.restart });
      // kafkajs restarts by itself after a retriable error; after any other it stops for good.
      if (!e.payload.restart) member.ended?.(e.payload.error);
    });
    return consumer;
  }

  /** True once every member joined its group and is fetching. */
  isReady(): boolean {
    return this.running && this.members.every((m) => m.joined && !m.dead);
  }

  /**
   * False once a member crashed and could not be restarted, or is stalled (assigned, with lag, and
   * no progress for KafkaSettings.consumerStallMs, see MemberTelemetry): the process should be restarted.
   */
  isLive(): boolean {
    return this.members.every((m) => !m.dead && !this.isStalled(m));
  }

  private isStalled(m: Member): boolean {
    const stalled = this.running && m.telemetry.stalled(m.assigned, this.settings.consumerStallMs);
    if (stalled && !m.stallLogged) {
      this.logger.fatal(
        { event: 'kafka_consumer_stalled', group: m.groupId, idleSeconds: m.telemetry.idleSeconds(), stallMs: this.settings.consumerStallMs },
        'consumer has records waiting and made no progress: the process is no longer live',
      );
    }
    m.stallLogged = stalled;
    return stalled;
  }

  /**
   * Starts every member and returns once each has made its first attempt to connect and
   * subscribe, without waiting for the group join (which can take a session timeout after an
   * unclean restart) nor for missing topics: isReady() tells when the member is consuming.
   * Members run under a supervisor that waits for their topics and restarts them with backoff.
   */
  async start(): Promise<void> {
    this.running = true;
    if (this.options.perInstance) {
      void this.deleteStaleGroups();
      // A killed instance's group only becomes empty once its session expires: look again then.
      this.cleanupTimer = setTimeout(() => void this.deleteStaleGroups(), 2 * this.sessionTimeoutMs + 5_000);
      this.cleanupTimer.unref();
    }
    await Promise.all(
      this.members.map(
        (member) =>
          new Promise<void>((firstAttempt) => {
            member.supervisor = this.supervise(member, firstAttempt);
          }),
      ),
    );
  }

  private async supervise(member: Member, firstAttempt: () => void): Promise<void> {
    while (this.running) {
      const consumer = this.newConsumer(member);
      member.consumer = consumer;
      member.joined = false;
      const ended = new Promise<Error | undefined>((resolve) => (member.ended = resolve));
      let error: Error | undefined;
      try {
        // start() returns while the topics are missing: the service starts, not ready.
        const present = await waitForTopics(this.kafka, member.topics, this.logger, () => this.running, firstAttempt);
        if (!present) break;
        await consumer.connect();
        await consumer.subscribe({ topics: member.topics, fromBeginning: member.retryTier || (this.options.fromBeginning ?? false) });
        // kafkajs's run() returns once the first join is done: its JoinGroup cannot be cut short (a
        // disconnect waits for it, and a client given up on would consume on), and the broker bounds it
        // by the rebalance timeout. Watched from then on: a client that stays out of its group is replaced.
        await this.run(member, consumer);
        firstAttempt();
        // Each incarnation gets the full join time from here.
        if (!member.joined) member.unjoinedSince = Date.now();
        const watch = this.watchJoin(member);
        error = await Promise.race([ended, watch.timedOut]);
        watch.cancel();
      } catch (err) {
        error = err instanceof Error ? err : new Error(String(err));
        this.logger.error({ event: 'kafka_consumer_start_failed', group: member.groupId, err: error });
      }
      firstAttempt();
      if (!this.running) break;
      member.assigned = false;
      setJoined(member, false);
      member.telemetry.restarted();
      const stuck = error instanceof JoinTimedOut ? error : undefined;
      if (stuck)
        this.logger.warn(
          { event: 'kafka_consumer_join_timeout', group: member.groupId, unjoinedMs: stuck.unjoinedMs, joinTimeoutMs: this.joinTimeoutMs },
          'consumer stayed out of its group too long: replacing its client',
        );
      // Waits for a JoinGroup in flight (bounded by the rebalance timeout), then leaves the group.
      this.retired.add(consumer);
      await consumer.disconnect().catch(() => undefined);
      if (stuck) {
        // A stuck client, not a crash: a new one joins afresh, however often it takes.
        await this.pause(member, RESTART_DELAY_MS);
        continue;
      }
      member.restarts += 1;
      if (member.restarts > (this.options.maxRestarts ?? 10)) {
        member.dead = error ?? new Error('consumer stopped');
        this.logger.fatal(
          { event: 'kafka_consumer_dead', group: member.groupId, restarts: member.restarts - 1, err: member.dead },
          'consumer could not be restarted: the process is no longer live',
        );
        return;
      }
      const delay = Math.min(RESTART_DELAY_MS * 2 ** (member.restarts - 1), MAX_RESTART_DELAY_MS);
      this.logger.error({ event: 'kafka_consumer_restarting', group: member.groupId, restart: member.restarts, delayMs: delay, err: error });
      await this.pause(member, delay);
    }
    // Stopped while connecting or subscribing: make sure this incarnation does not run on.
    if (!this.running && member.consumer) {
      this.retired.add(member.consumer);
      await member.consumer.disconnect().catch(() => undefined);
    }
    firstAttempt();
  }

  /** Waits before the next incarnation; stop() ends the wait. */
  private pause(member: Member, delayMs: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, delayMs);
      member.ended = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** Resolves with JoinTimedOut once the member has been out of its group for longer than joinTimeoutMs. */
  private watchJoin(member: Member): { timedOut: Promise<JoinTimedOut>; cancel(): void } {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<JoinTimedOut>((resolve) => {
      timer = setInterval(() => {
        const unjoinedMs = Date.now() - member.unjoinedSince;
        if (this.running && !member.joined && unjoinedMs > this.joinTimeoutMs) resolve(new JoinTimedOut(unjoinedMs));
      }, JOIN_CHECK_MS);
      timer.unref();
    });
    return { timedOut, cancel: () => clearInterval(timer) };
  }

  private async run(member: Member, consumer: KafkaConsumer): Promise<void> {
    await consumer.run({
      autoCommit: this.options.commitIntervalMs !== undefined && !member.retryTier,
      ...(this.options.commitIntervalMs !== undefined ? { autoCommitInterval: this.options.commitIntervalMs } : {}),
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: member.retryTier ? 1 : (this.options.partitionsConsumedConcurrently ?? 1),
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale, commitOffsetsIfNecessary, uncommittedOffsets }) => {
        // A client whose join completed after it was given up on: its replacement does the work.
        if (this.retired.has(consumer)) return;
        const topic = this.topicByName.get(batch.topic);
        if (!topic) throw new Error(`record from unsubscribed topic ${batch.topic}`);
        const started = process.hrtime.bigint();
        const telemetry = member.telemetry;
        telemetry.batchStarted(batch.topic, batch.partition, batch.highWatermark, (batch.messages as KafkaMessage[])[0]?.offset);
        let last: string | undefined;
        let settled = 0;
        let abandoned: BatchAbandoned | undefined;
        // The heartbeat handed to handlers (and kept by them for flush) also tells that they make progress.
        const progress: Progress = { at: 0 };
        const handlerHeartbeat = async (): Promise<void> => {
          progress.at = Date.now();
          await heartbeat();
        };
        for (const message of batch.messages as KafkaMessage[]) {
          if (!isRunning() || isStale()) break;
          try {
            // A parked record waits for its time; stopping meanwhile leaves it uncommitted for later.
            if (member.retryTier && !(await this.waitUntilDue(message, heartbeat, isRunning, telemetry))) break;
            await this.processMessage(topic, batch.topic, batch.partition, message, { heartbeat, handlerHeartbeat, progress }, isRunning, telemetry);
            telemetry.recordSettled(batch.topic);
            settled += 1;
            last = message.offset;
            // Throttled by heartbeatInterval inside kafkajs: cheap per record, and whatever the
            // batch size the work between two heartbeats is one record.
            await heartbeat();
          } catch (err) {
            if (err instanceof RetryLater) {
              telemetry.waitUntil(Date.now() + err.delayMs);
              this.pauseFor(consumer, batch.topic, batch.partition, err.delayMs);
            } else if (err instanceof BatchAbandoned) abandoned = err;
            else abandoned = new BatchAbandoned(isRebalance(err) ? 'rebalance' : 'error', { cause: err });
            break;
          }
        }
        // Rethrown to kafkajs once the records before are settled: it rejoins after a rebalance, retries or crashes otherwise.
        const rethrow = abandoned && abandoned.reason !== 'stopping' ? abandoned : undefined;
        if (last === undefined) {
          if (rethrow) throw rethrow.cause;
          return;
        }
        // Make the records handled so far durable even when the batch was cut short, so no
        // handler's buffer carries them into another batch; the commit may then be refused
        // (rebalance) and they are redone, idempotently.
        if (this.options.flush) await this.flushWithRetry(heartbeat, progress, isRunning, telemetry);
        resolveOffset(last);
        // Through the batch's own committer: Consumer.commitOffsets() is a no-op once stop() began,
        // which would lose the commit of the batch being drained.
        try {
          if (this.options.commitIntervalMs !== undefined && !member.retryTier) {
            await commitOffsetsIfNecessary();
            this.commitWhenIdle(member, commitOffsetsIfNecessary, uncommittedOffsets);
          } else
            await commitOffsetsIfNecessary({
              topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: (BigInt(last) + 1n).toString() }] }],
            });
          telemetry.batchCommitted(batch.topic, batch.partition, batch.highWatermark, last, settled, secondsSince(started));
          await heartbeat();
        } catch (err) {
          if (!rethrow) throw err;
        }
        if (rethrow) throw rethrow.cause;
      },
    });
  }

  /**
   * kafkajs commits on an interval only when a later batch arrives: the last batch before a
   * quiet spell would stay uncommitted (stale lag on every dashboard, redone after a restart).
   * One timer per member commits it once the interval has passed. It goes through the batch's
   * own committer, whose offsets belong to the current generation, so a commit after a
   * rebalance can never move back a partition this member lost.
   */
  private commitWhenIdle(member: Member, commit: () => Promise<void>, uncommitted: () => { topics: unknown[] }): void {
    if (member.idleCommit || uncommitted().topics.length === 0) return;
    member.idleCommit = setTimeout(
      () => {
        member.idleCommit = undefined;
        if (!this.running) return;
        commit().catch((err: Error) => this.logger.debug({ event: 'kafka_idle_commit_failed', group: member.groupId, err: err.message }));
      },
      (this.options.commitIntervalMs ?? 0) + 50,
    );
    member.idleCommit.unref();
  }

  private async waitUntilDue(message: KafkaMessage, heartbeat: () => Promise<void>, isRunning: () => boolean, telemetry: MemberTelemetry): Promise<boolean> {
    const notBefore = Number(headerText(message.headers?.[RETRY_HEADERS.notBefore]) ?? 0);
    while (Date.now() < notBefore) {
      if (!isRunning()) return false;
      telemetry.alive();
      await new Promise((r) => setTimeout(r, Math.min(1000, notBefore - Date.now())));
      await heartbeat();
    }
    return isRunning();
  }

  /** Pauses a partition whose record waits for its next attempt, and resumes it then (the record is fetched again). */
  private pauseFor(consumer: KafkaConsumer, topic: string, partition: number, delayMs: number): void {
    consumer.pause([{ topic, partitions: [partition] }]);
    const timer = setTimeout(() => {
      this.resumeTimers.delete(timer);
      consumer.resume([{ topic, partitions: [partition] }]);
    }, delayMs);
    this.resumeTimers.add(timer);
  }

  /** Sleeps `ms` in slices of the heartbeat interval, heartbeating between them. */
  private async sleepHeartbeating(ms: number, heartbeat: () => Promise<void>, isRunning: () => boolean): Promise<void> {
    const until = Date.now() + ms;
    while (Date.now() < until) {
      if (!isRunning()) throw new BatchAbandoned('stopping');
      await new Promise((r) => setTimeout(r, Math.min(this.heartbeatIntervalMs, until - Date.now())));
      await heartbeat();
    }
  }

  /**
   * Runs `fn` (a handler, a flush, a dead-letter write) heartbeating every heartbeat interval
   * while it is genuinely in progress, for at most maxBlockedMs since it started or last
   * heartbeated by itself (`progress`): a blind timer would keep a stuck member in the group
   * for good and disable the group's failure detection.
   */
  private async heartbeating<T>(heartbeat: () => Promise<void>, what: string, fn: () => Promise<T>, progress?: Progress): Promise<T> {
    const started = Date.now();
    const timer = setInterval(() => {
      if (Date.now() - Math.max(started, progress?.at ?? 0) > this.maxBlockedMs) {
        clearInterval(timer);
        this.logger.error(
          { event: 'kafka_handler_overran', group: this.groupId, what, maxBlockedMs: this.maxBlockedMs },
          'no more heartbeats on its behalf: the member will be evicted',
        );
        return;
      }
      // A failed heartbeat (rebalance) is seen again by the batch loop's own heartbeat.
      heartbeat().catch(() => clearInterval(timer));
    }, this.heartbeatIntervalMs);
    try {
      return await fn();
    } finally {
      clearInterval(timer);
    }
  }

  /** Deletes this consumer's groups (per-instance groups on a graceful stop). */
  private async deleteGroups(): Promise<void> {
    const admin = this.kafka.admin();
    try {
      await admin.connect();
      await admin.deleteGroups(this.members.map((m) => m.groupId));
    } catch (err) {
      // Only housekeeping: an undeleted group is removed at the next start of any instance, or expires.
      this.logger.warn({ event: 'kafka_group_delete_failed', group: this.groupId, err: (err as Error).message });
    } finally {
      await admin.disconnect();
    }
  }

  /**
   * Deletes the per-instance groups of this consumer left by instances that were killed
   * (no graceful stop): same base name, a random suffix, and no member any more. A live
   * instance's group has members and is never touched (the broker refuses to delete it anyway).
   */
  private async deleteStaleGroups(): Promise<void> {
    if (!this.running) return;
    const base = `${this.settings.prefix}${this.options.groupId}.`;
    const mine = new Set(this.members.map((m) => m.groupId));
    const admin = this.kafka.admin();
    try {
      await admin.connect();
      const { groups } = await admin.listGroups();
      const candidates = groups.map((g) => g.groupId).filter((id) => id.startsWith(base) && !mine.has(id) && PER_INSTANCE_SUFFIX.test(id.slice(base.length)));
      if (candidates.length === 0) return;
      const described = await admin.describeGroups(candidates);
      const stale = described.groups.filter((g) => (g.state === 'Empty' || g.state === 'Dead') && g.members.length === 0).map((g) => g.groupId);
      if (stale.length === 0) return;
      const results = await admin.deleteGroups(stale).catch((err: unknown) => {
        // A group that gained a member meanwhile is refused; the others are deleted.
        const partial = (err as { groups?: Array<{ groupId: string; errorCode: number }> }).groups;
        if (partial) return partial;
        throw err;
      });
      const deleted = results.filter((r) => !r.errorCode).map((r) => r.groupId);
      this.logger.info({ event: 'kafka_stale_groups_deleted', group: this.options.groupId, deleted });
    } catch (err) {
      this.logger.warn({ event: 'kafka_stale_groups_delete_failed', group: this.options.groupId, err: (err as Error).message });
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  /** Resolves once the member has joined its group (tests, ordered start-up). */
  async waitUntilReady(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.isReady()) {
      const dead = this.members.find((m) => m.dead)?.dead;
      if (dead) throw dead;
      if (!this.running) throw new Error(`consumer group ${this.groupId} is not running`);
      if (Date.now() > deadline) throw new Error(`consumer group ${this.groupId} did not join within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  private rememberAttempts(key: string): AttemptMemo {
    let memo = this.attempts.get(key);
    if (!memo) {
      memo = { count: 0, firstAt: Date.now(), lastError: undefined, settled: false, notBefore: 0 };
      this.attempts.set(key, memo);
      if (this.attempts.size > MAX_REMEMBERED) this.attempts.delete(this.attempts.keys().next().value!);
    }
    return memo;
  }

  private async processMessage(
    topic: TopicKey,
    name: string,
    partition: number,
    message: KafkaMessage,
    beats: { heartbeat: () => Promise<void>; handlerHeartbeat: () => Promise<void>; progress: Progress },
    isRunning: () => boolean,
    telemetry: MemberTelemetry,
  ): Promise<void> {
    const { heartbeat, handlerHeartbeat, progress } = beats;
    // Attempts are counted per record across redeliveries of this process (the member evicted
    // or the partition reassigned mid-retries), before each attempt: a handler that never
    // returns still uses them up.
    const memoKey = `${name}:${partition}:${message.offset}`;
    const memo = this.rememberAttempts(memoKey);
    if (memo.settled) return;
    let event: AnyDomainEvent;
    try {
      event = decodeEvent(message.value);
      if (!TOPICS[topic].events.includes(event.type)) {
        throw new NonRetriableError(`event ${event.type} does not belong on topic ${TOPICS[topic].name}`);
      }
    } catch (err) {
      await this.deadLetter(topic, name, partition, message, 'undecodable', err as Error, 1, heartbeat);
      telemetry.deadLettered(name, 'undecodable');
      memo.settled = true;
      return;
    }
    const record: ConsumedRecord = {
      topic,
      topicName: name,
      partition,
      offset: message.offset,
      key: message.key ? message.key.toString('utf8') : null,
      event,
      timestampMs: Number(message.timestamp),
      // A handler that heartbeats is working (an HTTP delivery retrying): alive, for the stall check.
      heartbeat: () => {
        telemetry.alive();
        return handlerHeartbeat();
      },
    };
    const parent = extractTraceContext(message.headers);
    const exhausted = () => memo.count > this.maxRetries || (memo.count > 0 && Date.now() - memo.firstAt >= this.maxRecordMs);
    // Redelivered before its backoff ended (its partition resumed by a new assignment): wait again, released.
    if (!exhausted() && Date.now() < memo.notBefore) throw new RetryLater(memo.notBefore - Date.now());
    while (!exhausted()) {
      memo.count += 1;
      try {
        await this.heartbeating(
          heartbeat,
          `handle ${name}`,
          () =>
            withSpan(
              this.tracer,
              `process ${topic}`,
              {
                kind: SpanKind.CONSUMER,
                parent,
                attributes: {
                  'messaging.system': 'kafka',
                  'messaging.operation.type': 'process',
                  'messaging.destination.name': name,
                  'messaging.consumer.group.name': this.groupId,
                  'messaging.kafka.offset': Number(message.offset),
                  'calltrack.event_type': event.type,
                  'calltrack.site_id': event.siteId,
                },
              },
              () => this.options.handle(record),
            ),
          progress,
        );
        this.attempts.delete(memoKey);
        return;
      } catch (err) {
        // A heartbeat a handler made that found the group rebalancing: the batch is redone elsewhere or after the rejoin.
        if (isRebalance(err)) throw new BatchAbandoned('rebalance', { cause: err });
        const error = err instanceof Error ? err : new Error(String(err));
        // Only NonRetriableError skips retries; everything else is assumed transient.
        if (err instanceof NonRetriableError) {
          await this.deadLetter(topic, name, partition, message, 'non_retriable', error, memo.count, heartbeat);
          telemetry.deadLettered(name, 'non_retriable');
          memo.settled = true;
          return;
        }
        memo.lastError = error.message;
        const left = exhausted() ? 0 : this.maxRetries + 1 - memo.count;
        this.logger.warn({
          event: 'kafka_record_retry',
          group: this.groupId,
          topic: name,
          partition,
          offset: message.offset,
          attempt: memo.count,
          retriesLeft: left,
          err: error,
        });
        if (left === 0) break;
        telemetry.retried(name);
        const delay = Math.min((this.options.retryDelayMs ?? 200) * 2 ** (memo.count - 1), 10_000, Math.max(0, memo.firstAt + this.maxRecordMs - Date.now()));
        if (delay < this.heartbeatIntervalMs) {
          telemetry.alive();
          await this.sleepHeartbeating(delay, heartbeat, isRunning);
        } else {
          memo.notBefore = Date.now() + delay;
          throw new RetryLater(delay);
        }
      }
    }
    const error = new Error(memo.lastError ?? `no attempt finished within ${this.maxRecordMs} ms`);
    const tier = Number(headerText(message.headers?.[RETRY_HEADERS.attempt]) ?? 0);
    const delays = this.options.retryTopic ? (this.options.retryDelaysMs ?? TOPICS[topic].retryDelaysMs) : undefined;
    if (delays && tier < delays.length) {
      await this.park(topic, name, partition, message, tier + 1, delays[tier]!, error, heartbeat);
      telemetry.parked(name, 'retries_exhausted');
    } else {
      await this.deadLetter(topic, name, partition, message, 'retries_exhausted', error, memo.count, heartbeat);
      telemetry.deadLettered(name, 'retries_exhausted');
    }
    memo.settled = true;
  }

  private async flushWithRetry(heartbeat: () => Promise<void>, progress: Progress, isRunning: () => boolean, telemetry: MemberTelemetry): Promise<void> {
    // A failed flush is never dead-lettered: the store is down, not the data. Keep
    // retrying (heartbeating) until it works or the consumer stops without committing.
    let delay = this.options.retryDelayMs ?? 200;
    for (;;) {
      try {
        await this.heartbeating(heartbeat, 'flush', () => this.options.flush!(), progress);
        return;
      } catch (err) {
        this.logger.error({ event: 'kafka_batch_flush_failed', group: this.groupId, err });
        if (!isRunning()) throw err;
        // The store is down: waiting for it (readiness says so), not stalled.
        telemetry.alive();
        await this.sleepHeartbeating(delay, heartbeat, isRunning).catch((e: unknown) => {
          if (e instanceof BatchAbandoned) throw err;
          throw e;
        });
        delay = Math.min(delay * 2, 10_000);
      }
    }
  }

  /** Parks a record on its retry topic, to be tried again after `delayMs`. */
  private async park(
    topic: TopicKey,
    name: string,
    partition: number,
    message: KafkaMessage,
    attempt: number,
    delayMs: number,
    err: Error,
    heartbeat: () => Promise<void>,
  ): Promise<void> {
    const headers = copyHeaders(message.headers);
    // The first source is kept through every tier, so the record stays traceable to where it came from.
    headers[RETRY_HEADERS.sourceTopic] ??= name;
    headers[RETRY_HEADERS.sourcePartition] ??= String(partition);
    headers[RETRY_HEADERS.sourceOffset] ??= message.offset;
    Object.assign(headers, {
      [RETRY_HEADERS.attempt]: String(attempt),
      [RETRY_HEADERS.notBefore]: String(Date.now() + delayMs),
      [RETRY_HEADERS.error]: err.message.slice(0, 2000),
    });
    const target = retryTopicName(topicName(topic, this.settings.prefix));
    await this.heartbeating(heartbeat, 'park', () =>
      pRetry(() => this.producer.sendRaw(target, [{ key: message.key, value: message.value, headers }]), { retries: 10, minTimeout: 200 }),
    );
    this.logger.warn({ event: 'kafka_record_parked', group: this.groupId, topic: name, partition, offset: message.offset, attempt, delayMs, err: err.message });
  }

  /** `name` is the topic the record was read from (a retry topic, possibly); the dead letters are the source topic's. */
  private async deadLetter(
    topic: TopicKey,
    name: string,
    partition: number,
    message: KafkaMessage,
    reason: DeadLetterReason,
    err: Error,
    attempts: number,
    heartbeat: () => Promise<void>,
  ): Promise<void> {
    const headers = copyHeaders(message.headers);
    Object.assign(headers, {
      [DLQ_HEADERS.reason]: reason,
      [DLQ_HEADERS.error]: err.message.slice(0, 2000),
      [DLQ_HEADERS.sourceTopic]: name,
      [DLQ_HEADERS.sourcePartition]: String(partition),
      [DLQ_HEADERS.sourceOffset]: message.offset,
      [DLQ_HEADERS.consumerGroup]: this.groupId,
      [DLQ_HEADERS.attempts]: String(attempts),
      [DLQ_HEADERS.failedAt]: new Date().toISOString(),
    });
    // The dead-letter write must succeed before the offset moves on, or the record would be lost.
    const target = deadLetterTopicName(topicName(topic, this.settings.prefix));
    await this.heartbeating(heartbeat, 'dead-letter', () =>
      pRetry(() => this.producer.sendRaw(target, [{ key: message.key, value: message.value, headers }]), { retries: 10, minTimeout: 200 }),
    );
    this.logger.error({
      event: 'kafka_record_dead_lettered',
      group: this.groupId,
      topic: name,
      partition,
      offset: message.offset,
      reason,
      attempts,
      err: err.message,
    });
  }

  /** Graceful drain: stops fetching, lets the batch in progress finish and commit, then leaves the group. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    if (this.cleanupTimer) clearTimeout(this.cleanupTimer);
    for (const timer of this.resumeTimers) clearTimeout(timer);
    this.resumeTimers.clear();
    await Promise.all(
      this.members.map(async (m) => {
        m.ended?.(undefined);
        if (m.idleCommit) clearTimeout(m.idleCommit);
        if (m.consumer) this.retired.add(m.consumer);
        await m.consumer?.disconnect();
        await m.supervisor;
        setJoined(m, false);
        m.telemetry.close();
      }),
    );
    if (this.options.perInstance) await this.deleteGroups();
    this.logger.info({ event: 'kafka_consumer_stopped', group: this.groupId });
  }
}

/** Out of the group from now on (the time is kept for the join watchdog), or joined again (restarts forgiven). */
function setJoined(member: Member, joined: boolean): void {
  if (joined) member.restarts = 0;
  else if (member.joined) member.unjoinedSince = Date.now();
  member.joined = joined;
}

/** The group is rebalancing or forgot this member: the batch in hand cannot be committed. */
function isRebalance(err: unknown): boolean {
  const type = kafkaErrorType(err);
  return (
    type === 'REBALANCE_IN_PROGRESS' ||
    type === 'UNKNOWN_MEMBER_ID' ||
    type === 'ILLEGAL_GENERATION' ||
    (err instanceof Error && err.name === 'KafkaJSFetcherRebalanceError')
  );
}

function copyHeaders(headers: Record<string, unknown> | undefined): Record<string, string | Buffer> {
  const out: Record<string, string | Buffer> = {};
  for (const [k, v] of Object.entries(headers ?? {})) {
    if (Buffer.isBuffer(v) || typeof v === 'string') out[k] = v;
  }
  return out;
}

function headerText(v: unknown): string | undefined {
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  return typeof v === 'string' ? v : undefined;
}
