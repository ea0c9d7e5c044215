import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { WriterFences, type calltrack } from '@calltrack/contracts';
import { KafkaBus, type BatchConsumer } from '@calltrack/kafka';
import { LOGGER, ReadinessService } from '@calltrack/service-kit';
import type { Logger } from '@calltrack/telemetry';
import { SERVICE_NAME } from './config.js';

export type LeaseAnswer =
  | { kind: 'granted'; event: calltrack.events.v1.LeaseGranted }
  | { kind: 'rejected'; event: calltrack.events.v1.LeaseRejected };

/**
 * Waits for number-pool's answer to a lease request. Each instance follows
 * pool-events from the end with a group of its own and resolves the requests
 * it is waiting for, by request id.
 */
@Injectable()
export class LeaseRepliesService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly waiting = new Map<string, (answer: LeaseAnswer) => void>();
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

  /** Registers interest before the request is published, so a fast answer is not missed. */
  expect(requestId: string, timeoutMs: number): Promise<LeaseAnswer | undefined> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(requestId);
        resolve(undefined);
      }, timeoutMs);
      this.waiting.set(requestId, (answer) => {
        clearTimeout(timer);
        resolve(answer);
      });
    });
  }

  cancel(requestId: string): void {
    this.waiting.delete(requestId);
  }
}
