import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { createEvent, derivedEventId, siteKey, WriterFences, type calltrack } from '@calltrack/contracts';
import { KafkaBus, type BatchConsumer } from '@calltrack/kafka';
import { LOGGER, ReadinessService } from '@calltrack/service-kit';
import { counter, type Logger } from '@calltrack/telemetry';
import { SERVICE_NAME } from './config.js';

export type LeaseAnswer = { kind: 'granted'; event: calltrack.events.v1.LeaseGranted } | { kind: 'rejected'; event: calltrack.events.v1.LeaseRejected };

/** A request this instance stopped waiting for (timed out, or its publish failed): its visitor sees no number from it. */
interface GivenUp {
  siteId: string;
  sessionId: string;
  atMs: number;
}

/** Long enough for any answer still in flight (number-pool answers expired requests after their deadline anyway). */
const GIVEN_UP_MEMORY_MS = 10 * 60_000;
const GIVEN_UP_LIMIT = 100_000;

/**
 * Waits for number-pool's answer to a lease request. Each instance follows
 * pool-events from the end with a group of its own and resolves the requests
 * it is waiting for, by request id.
 *
 * A grant that arrives after this instance gave up (its visitor was shown the
 * default number) is never shown; the lease is given back at once
 * (LeaseReleaseRequested), so its number returns to the pool and no call is
 * credited to a visit that never saw it.
 */
@Injectable()
export class LeaseRepliesService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly waiting = new Map<string, (answer: LeaseAnswer) => void>();
  private readonly givenUp = new Map<string, GivenUp>();
  private readonly fences = new WriterFences();
  private consumer: BatchConsumer | undefined;

  constructor(
    private readonly bus: KafkaBus,
    private readonly readiness: ReadinessService,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.consumer = this.bus.consumer({
      groupId: `${SERVICE_NAME}.lease-replies`,
      perInstance: true,
      topics: ['poolEvents'],
      fromBeginning: false,
      // A group of its own that reads from the end on every start: its offsets matter little.
      commitIntervalMs: 5000,
      handle: async (record) => {
        const e = record.event;
        // A stalled former number-pool owner's late answer (older writer epoch) is not an answer.
        if (!this.fences.admit(record.partition, record.offset, e)) return;
        if (e.type !== 'LeaseGranted' && e.type !== 'LeaseRejected') return;
        const late = this.givenUp.get(e.payload.requestId);
        if (late) {
          this.givenUp.delete(e.payload.requestId);
          if (e.type === 'LeaseGranted') await this.giveBack(e.siteId, e.payload, late);
          return;
        }
        const resolve = this.waiting.get(e.payload.requestId);
        if (!resolve) return;
        this.waiting.delete(e.payload.requestId);
        resolve(e.type === 'LeaseGranted' ? { kind: 'granted', event: e.payload } : { kind: 'rejected', event: e.payload });
      },
    });
    await this.consumer.start();
    this.readiness.register('lease_replies', () => this.consumer?.isReady() ?? false);
  }

  async onModuleDestroy(): Promise<void> {
    await this.consumer?.stop();
    for (const [requestId] of this.waiting) this.logger.warn({ event: 'lease_reply_abandoned', request_id: requestId });
    this.waiting.clear();
  }

  /**
   * Registers interest before the request is published, so a fast answer is not missed.
   * Resolves undefined at giveUpAtMs (the visitor is then shown the default number).
   */
  expect(request: { requestId: string; siteId: string; sessionId: string }, giveUpAtMs: number): Promise<LeaseAnswer | undefined> {
    const { requestId } = request;
    return new Promise((resolve) => {
      const timer = setTimeout(
        () => {
          this.waiting.delete(requestId);
          this.rememberGivenUp(request);
          replyTimeouts().inc();
          resolve(undefined);
        },
        Math.max(0, giveUpAtMs - Date.now()),
      );
      this.waiting.set(requestId, (answer) => {
        clearTimeout(timer);
        resolve(answer);
      });
    });
  }

  /** The request's publish failed (the visitor got an error): it may still reach Kafka, so its answer is watched for. */
  cancel(request: { requestId: string; siteId: string; sessionId: string }): void {
    this.waiting.delete(request.requestId);
    this.rememberGivenUp(request);
  }

  private rememberGivenUp(request: { requestId: string; siteId: string; sessionId: string }): void {
    const now = Date.now();
    this.givenUp.set(request.requestId, { siteId: request.siteId, sessionId: request.sessionId, atMs: now });
    // Insertion order is age order: forget the oldest (their answers can no longer be granted).
    for (const [id, entry] of this.givenUp) {
      if (this.givenUp.size <= GIVEN_UP_LIMIT && entry.atMs >= now - GIVEN_UP_MEMORY_MS) break;
      this.givenUp.delete(id);
    }
  }

  private async giveBack(siteId: string, grant: calltrack.events.v1.LeaseGranted, late: GivenUp): Promise<void> {
    const now = Date.now();
    const command = createEvent(
      'LeaseReleaseRequested',
      { leaseId: grant.leaseId, sessionId: grant.sessionId, requestedAtMs: now },
      { siteId, producer: SERVICE_NAME, occurredAtMs: now, eventId: derivedEventId(grant.leaseId, 'release') },
    );
    try {
      await this.bus.producer.publish('poolCommands', siteKey(siteId), command);
    } catch (err) {
      // Not worth a retry that could dead-letter a pool event: the lease then ends at its tail, as before deadlines.
      this.logger.error({ event: 'lease_give_back_failed', site_id: siteId, lease_id: grant.leaseId, err });
      return;
    }
    this.logger.warn({ event: 'lease_grant_undelivered', site_id: siteId, lease_id: grant.leaseId, late_ms: now - late.atMs });
  }
}

/** calltrack_pool_lease_reply_timeouts_total: visitors shown the default number because no answer came in time (defined at load). */
const timeouts = counter({
  name: 'calltrack_pool_lease_reply_timeouts_total',
  help: "Lease requests whose answer did not arrive within LEASE_REPLY_TIMEOUT_MS (the visitor was shown the site's default number).",
});
const replyTimeouts = () => timeouts;
