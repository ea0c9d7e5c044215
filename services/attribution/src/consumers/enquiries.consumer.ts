import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { KafkaBus, NonRetriableError, type BatchConsumer, type ConsumedRecord } from '@calltrack/kafka';
import { CONFIG, LOGGER, ReadinessService } from '@calltrack/service-kit';
import type { Logger } from '@calltrack/telemetry';
import { SERVICE_NAME, type AttributionConfig } from '../config.js';
import { readEnquiryReport } from '../pipeline/enquiries/read-enquiry-report.js';
import { EnquiryPipeline, type FreshEnquiry } from '../pipeline/enquiry-pipeline.js';
import { BatchBuffer } from './batch-buffer.js';
import { chunksOf } from './chunks.js';

/**
 * The live consumer of enquiries (topic enquiries): each one goes through the enquiry
 * pipeline (pipeline/enquiry-pipeline.ts), a backlog's batch in chunks of
 * ATTRIBUTION_CALL_CHUNK with a heartbeat between them (as the calls' consumer does); then
 * the batch consumer commits. An enquiry that cannot be stored is dead-lettered.
 */
@Injectable()
export class EnquiriesConsumer implements OnApplicationBootstrap, OnModuleDestroy {
  private consumer: BatchConsumer | undefined;
  // The heartbeat of the batch being handled: the flush heartbeats between its chunks.
  private heartbeat: (() => Promise<void>) | undefined;
  private readonly buffer = new BatchBuffer<FreshEnquiry>();
  // Chunks of the batch being flushed that are durable (a retried flush goes on from there).
  private chunksDone = 0;
  private readonly chunkSize: number;

  constructor(
    private readonly bus: KafkaBus,
    private readonly pipeline: EnquiryPipeline,
    private readonly readiness: ReadinessService,
    @Inject(CONFIG) config: AttributionConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.chunkSize = config.ATTRIBUTION_CALL_CHUNK;
  }

  async onApplicationBootstrap(): Promise<void> {
    this.consumer = this.bus.consumer({
      groupId: `${SERVICE_NAME}.enquiries`,
      topics: ['enquiries'],
      fromBeginning: true,
      handle: async (record) => this.handle(record),
      flush: () => this.flush(),
    });
    this.readiness.register('enquiry_consumer', () => this.consumer?.isReady() ?? false);
    await this.consumer.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.consumer?.stop();
  }

  private async handle(record: ConsumedRecord): Promise<void> {
    this.heartbeat = record.heartbeat;
    this.chunksDone = 0;
    if (this.buffer.track(record)) this.logger.info({ event: 'abandoned_batch_dropped', consumer: 'enquiries' });
    if (record.event.type !== 'EnquiryReceived') return;
    const read = readEnquiryReport(record.event);
    // The broker's way to dead-letter a record: the batch goes on without it.
    if (!read.ok) throw new NonRetriableError(read.reason);
    this.buffer.push({ report: read.value, publishedAtMs: record.timestampMs || Date.now() });
  }

  private async flush(): Promise<void> {
    if (this.buffer.isEmpty) {
      this.buffer.clear();
      return;
    }
    // A site's retry of the same enquiry in one batch: the first one counts.
    const seen = new Set<string>();
    const items = this.buffer.items.filter((i) => {
      const key = `${i.report.siteId}\n${i.report.enquiryId}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
    // Within a chunk the batch consumer heartbeats on the flush's behalf.
    const chunks = chunksOf(items, this.chunkSize);
    const heartbeat = this.heartbeat;
    while (this.chunksDone < chunks.length) {
      const chunk = chunks[this.chunksDone]!;
      const plans = await this.pipeline.attributeEnquiries(chunk, this.buffer.token(`enquiries:${this.chunksDone}`, []));
      this.logger.info({
        event: 'enquiries_attributed',
        enquiries: plans.length,
        duplicates: chunk.length - plans.length,
        chunk: this.chunksDone + 1,
        chunks: chunks.length,
      });
      this.chunksDone += 1;
      // Throws when the group is rebalancing: the batch stops between chunks, uncommitted, and is redone (idempotently).
      if (heartbeat && this.chunksDone < chunks.length) await heartbeat();
    }
    this.chunksDone = 0;
    this.buffer.clear();
  }
}
