import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { KafkaBus, NonRetriableError, type BatchConsumer, type ConsumedRecord } from '@calltrack/kafka';
import { CONFIG, LOGGER, ReadinessService } from '@calltrack/service-kit';
import type { Logger } from '@calltrack/telemetry';
import { SERVICE_NAME, type AttributionConfig } from '../config.js';
import { readEnquiryReport } from '../pipeline/enquiries/read-enquiry-report.js';
import { EnquiryPipeline, type FreshEnquiry } from '../pipeline/enquiry-pipeline.js';
import { ChunkedBatch } from './chunked-batch.js';

/**
 * The live consumer of enquiries (topic enquiries): each one goes through the enquiry
 * pipeline (pipeline/enquiry-pipeline.ts), a backlog's batch in chunks of
 * ATTRIBUTION_CALL_CHUNK with a heartbeat between them (as the calls' consumer does); then
 * the batch consumer commits. An enquiry that cannot be stored is dead-lettered.
 */
@Injectable()
export class EnquiriesConsumer implements OnApplicationBootstrap, OnModuleDestroy {
  private consumer: BatchConsumer | undefined;
  private readonly batch: ChunkedBatch<FreshEnquiry>;

  constructor(
    private readonly bus: KafkaBus,
    private readonly pipeline: EnquiryPipeline,
    private readonly readiness: ReadinessService,
    @Inject(CONFIG) config: AttributionConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.batch = new ChunkedBatch(config.ATTRIBUTION_CALL_CHUNK);
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
    if (this.batch.track(record)) this.logger.info({ event: 'abandoned_batch_dropped', consumer: 'enquiries' });
    if (record.event.type !== 'EnquiryReceived') return;
    const read = readEnquiryReport(record.event);
    // The broker's way to dead-letter a record: the batch goes on without it.
    if (!read.ok) throw new NonRetriableError(read.reason);
    this.batch.push({ report: read.value, publishedAtMs: record.timestampMs || Date.now() });
  }

  private async flush(): Promise<void> {
    await this.batch.flush('enquiries', firstOfEachEnquiry, async (chunk, token, at) => {
      const plans = await this.pipeline.attributeEnquiries(chunk, token);
      this.logger.info({ event: 'enquiries_attributed', enquiries: plans.length, duplicates: chunk.length - plans.length, ...at });
    });
  }
}

/** A site's retry of the same enquiry in one batch: the first one counts. */
function firstOfEachEnquiry(items: FreshEnquiry[]): FreshEnquiry[] {
  const seen = new Set<string>();
  return items.filter((i) => {
    const key = `${i.report.siteId}\n${i.report.enquiryId}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
