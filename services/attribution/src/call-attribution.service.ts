import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { KafkaBus, type BatchConsumer, type ConsumedRecord } from '@calltrack/kafka';
import { LOGGER, ReadinessService } from '@calltrack/service-kit';
import { context, type Context, type Logger } from '@calltrack/telemetry';
import { BatchBuffer } from './batch-buffer.js';
import type { PlannedCall } from './call-evaluation.js';
import { CallEvaluationService, type IncomingReport } from './call-evaluation.service.js';
import { callVersion } from './call-version.js';
import { SERVICE_NAME } from './config.js';
import { checkScreenedCall } from './row-mappers.js';

/**
 * The live consumer of screened calls: each report is evaluated (origin, classification,
 * credits: call-evaluation.service.ts), stored in `calls` and `attribution_credits` and
 * published as CallAttributed; calls that depend on it are evaluated again. The
 * evaluation runs once per batch in flush(); then the inserts, then the publish, then
 * the batch consumer commits. A report older than the stored state of its call is dropped.
 */
@Injectable()
export class CallAttributionService implements OnApplicationBootstrap, OnModuleDestroy {
  private consumer: BatchConsumer | undefined;
  private readonly buffer = new BatchBuffer<IncomingReport>();
  // Rows and events of the batch being flushed, kept across flush retries so a retry writes
  // and publishes exactly what the first attempt did.
  private prepared: PlannedCall[] | undefined;

  constructor(
    private readonly bus: KafkaBus,
    private readonly evaluation: CallEvaluationService,
    private readonly readiness: ReadinessService,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.consumer = this.bus.consumer({
      groupId: `${SERVICE_NAME}.calls`,
      topics: ['screenedCalls'],
      fromBeginning: true,
      handle: async (record) => this.handle(record),
      flush: () => this.flush(),
    });
    this.readiness.register('call_consumer', () => this.consumer?.isReady() ?? false);
    await this.consumer.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.consumer?.stop();
  }

  private async handle(record: ConsumedRecord): Promise<void> {
    this.prepared = undefined;
    if (this.buffer.track(record)) this.logger.info({ event: 'abandoned_batch_dropped', consumer: 'calls' });
    if (record.event.type !== 'CallScreened') return;
    const event = record.event;
    // Throws NonRetriableError for a call that cannot be stored: it is dead-lettered, the batch goes on.
    const { call, callId, startedAtMs } = checkScreenedCall(event);
    this.buffer.push({
      report: {
        siteId: event.siteId,
        callId,
        reportEventId: event.eventId,
        call,
        verdict: event.payload.verdict,
        verdictReason: event.payload.reason,
        keyStartMs: startedAtMs,
        reportVersion: callVersion(call),
        occurredAtMs: event.occurredAtMs,
      },
      publishedAtMs: record.timestampMs || Date.now(),
      // Published later in flush(): keep this record's trace so the event continues it.
      traceContext: context.active(),
    });
  }

  private async flush(): Promise<void> {
    if (this.buffer.isEmpty) {
      this.buffer.clear();
      return;
    }
    const items = this.buffer.items;
    // Outside the evaluation lock: a fresh call may wait for its lease to reach ClickHouse.
    if (!this.prepared) await this.evaluation.waitForState(items);
    const traces = new Map<string, Context>(items.flatMap((i) => (i.traceContext ? [[i.report.reportEventId, i.traceContext] as const] : [])));
    await this.evaluation.exclusive(async () => {
      this.prepared ??= await this.evaluation.plan({ mode: 'report', reports: items.map((i) => i.report) });
      await this.evaluation.commit(this.prepared, this.buffer.token('calls', []), traces);
      await this.evaluation.followDependents(this.prepared);
    });
    this.logger.info({ event: 'calls_attributed', calls: this.prepared?.length ?? 0, superseded: items.length - (this.prepared?.length ?? 0) });
    this.prepared = undefined;
    this.buffer.clear();
  }
}
