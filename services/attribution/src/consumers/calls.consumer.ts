import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { KafkaBus, NonRetriableError, type BatchConsumer, type ConsumedRecord } from '@calltrack/kafka';
import { CONFIG, LOGGER, ReadinessService } from '@calltrack/service-kit';
import { context, counter, histogram, LATENCY_BUCKETS, type Context, type Logger } from '@calltrack/telemetry';
import { ChunkedBatch } from './chunked-batch.js';
import type { PlannedCall } from '../pipeline/call-evaluation.js';
import { CallPipeline, type FreshReport } from '../pipeline/call-pipeline.js';
import { readCallReport } from '../pipeline/calls/read-call-report.js';
import { SERVICE_NAME, type AttributionConfig } from '../config.js';

/** A new report with the trace of its record (the CallAttributed continues it). */
interface IncomingReport extends FreshReport {
  traceContext?: Context;
}

/**
 * The live consumer of screened calls (topic screenedCalls): each report goes through the
 * call pipeline (pipeline/call-pipeline.ts: match, classification, lead, credits, writes,
 * CallAttributed, the contacts that depend on it). The pipeline runs in flush(), in chunks
 * of ATTRIBUTION_CALL_CHUNK reports (pipeline, heartbeat), however large the batch a backlog
 * brings; then the batch consumer commits. A report that cannot be stored is dead-lettered,
 * one older than the stored state of its call is dropped by the pipeline.
 */
@Injectable()
export class CallsConsumer implements OnApplicationBootstrap, OnModuleDestroy {
  private consumer: BatchConsumer | undefined;
  // The pipeline writes a retried chunk exactly as it planned it, by the chunk's token.
  private readonly batch: ChunkedBatch<IncomingReport>;

  constructor(
    private readonly bus: KafkaBus,
    private readonly pipeline: CallPipeline,
    private readonly readiness: ReadinessService,
    @Inject(CONFIG) config: AttributionConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.batch = new ChunkedBatch(config.ATTRIBUTION_CALL_CHUNK);
  }

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
    if (this.batch.track(record)) this.logger.info({ event: 'abandoned_batch_dropped', consumer: 'calls' });
    if (record.event.type !== 'CallScreened') return;
    const event = record.event;
    const read = readCallReport(event);
    // The broker's way to dead-letter a record: the batch goes on without it.
    if (!read.ok) throw new NonRetriableError(read.reason);
    this.batch.push({
      report: read.value,
      publishedAtMs: record.timestampMs || Date.now(),
      // Published later in flush(): keep this record's trace so the event continues it.
      traceContext: context.active(),
    });
  }

  private async flush(): Promise<void> {
    await this.batch.flush(
      'calls',
      (items) => items,
      async (chunk, token, at) => {
        const startedAt = Date.now();
        const traces = new Map<string, Context>(chunk.flatMap((i) => (i.traceContext ? [[i.report.reportEventId, i.traceContext] as const] : [])));
        const { plans: planned, dropped } = await this.pipeline.attributeReports(chunk, token, traces);
        countAttributed(planned, (Date.now() - startedAt) / 1000);
        this.logger.info({ event: 'calls_attributed', calls: planned.length, superseded: dropped, ...at, ms: Date.now() - startedAt });
      },
    );
  }
}

function defineMetrics() {
  return {
    attributed: counter({
      name: 'calltrack_calls_attributed_total',
      help:
        'Calls evaluated and stored from live reports, by outcome (attributed to a visit, unattributed, spam, bot) and match method (dynamic, ' +
        'static, promo_code, repeat_caller, unmatched).',
      labelNames: ['outcome', 'method'] as const,
    }),
    evaluation: histogram({
      name: 'calltrack_attribution_evaluation_duration_seconds',
      help: 'Time to evaluate, store and publish one chunk of live calls (ATTRIBUTION_CALL_CHUNK), waits for late state included.',
      buckets: LATENCY_BUCKETS,
    }),
  };
}

// Defined at load: a scrape lists every metric from the start, before the first call.
const metrics = defineMetrics();

/** Counted once a chunk is durable; a batch redone after a rebalance is counted again (at least once). */
function countAttributed(planned: readonly PlannedCall[], seconds: number): void {
  for (const { row } of planned) {
    const outcome = row.verdict === 'spam' || row.verdict === 'bot' ? row.verdict : row.match_method === 'unmatched' ? 'unattributed' : 'attributed';
    metrics.attributed.inc({ outcome, method: row.match_method || 'unspecified' });
  }
  metrics.evaluation.observe(seconds);
}
