import { randomUUID } from 'node:crypto';
import pRetry from 'p-retry';
import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { topicName } from '@calltrack/contracts';
import { KafkaBus, type BatchConsumer, type ConsumedRecord } from '@calltrack/kafka';
import { CONFIG, LOGGER, ReadinessService } from '@calltrack/service-kit';
import type { Logger } from '@calltrack/telemetry';
import { CallReports, signedCallHorizonMs } from '../../calls/call-reports.service.js';
import { SERVICE_NAME, type TelephonyIngestConfig } from '../../config.js';
import { signedFactsOfReport } from './zadarma-signed-facts.js';

/**
 * Keeps the SignedCallLedger event-sourced: at start it reads the calls topic
 * from the first record of the replay horizon (offsets by timestamp: a
 * restart does not open a window for replays, whatever the topic's age), then
 * follows it, so the Zadarma follow-up checks span restarts and instances.
 * Readiness waits until the records present at start are applied.
 */
@Injectable()
export class SignedCallFeed implements OnApplicationBootstrap, OnModuleDestroy {
  private consumer: BatchConsumer | undefined;
  // A group of this instance's own, positioned by timestamp before it starts; deleted on stop.
  private readonly groupId = `${SERVICE_NAME}.signed-calls.${randomUUID()}`;
  /** Per partition, the offset that must be applied before the ledger counts as rebuilt. */
  private readonly pending = new Map<number, bigint>();
  private rebuilt = false;

  constructor(
    private readonly bus: KafkaBus,
    private readonly reports: CallReports,
    private readonly readiness: ReadinessService,
    @Inject(CONFIG) private readonly config: TelephonyIngestConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.readiness.register('signed_calls_rebuilt', () => this.rebuilt);
    const started = Date.now();
    // Retried as a whole: right after topics are created the broker briefly answers UNKNOWN_TOPIC_OR_PARTITION.
    await pRetry(() => this.position(started), {
      retries: 5,
      minTimeout: 300,
      onFailedAttempt: ({ error, attemptNumber }) => this.logger.warn({ event: 'signed_calls_position_retry', attempt: attemptNumber, err: error.message }),
    });
    this.markIfRebuilt(started);
    this.consumer = this.bus.consumer({
      groupId: this.groupId,
      topics: ['calls'],
      handle: async (record) => this.onRecord(record, started),
    });
    await this.consumer.start();
  }

  // Sets this instance's group to the first offset of the horizon and notes the offsets to reach.
  private async position(started: number): Promise<void> {
    this.pending.clear();
    const topic = topicName('calls', this.bus.settings.prefix);
    const admin = this.bus.kafka.admin();
    await admin.connect();
    try {
      const from = await admin.fetchTopicOffsetsByTimestamp(topic, started - signedCallHorizonMs(this.config));
      const ends = await admin.fetchTopicOffsets(topic);
      for (const p of ends) {
        const start = BigInt(from.find((f) => f.partition === p.partition)?.offset ?? p.high);
        if (BigInt(p.high) > start) this.pending.set(p.partition, BigInt(p.high) - 1n);
      }
      await admin.setOffsets({
        groupId: `${this.bus.settings.prefix}${this.groupId}`,
        topic,
        partitions: from.map((f) => ({ partition: f.partition, offset: f.offset })),
      });
    } finally {
      await admin.disconnect();
    }
  }

  async onModuleDestroy(): Promise<void> {
    await this.consumer?.stop();
    const admin = this.bus.kafka.admin();
    await admin.connect();
    await admin.deleteGroups([`${this.bus.settings.prefix}${this.groupId}`]).catch(() => undefined);
    await admin.disconnect();
  }

  private async onRecord(record: ConsumedRecord, started: number): Promise<void> {
    if (record.event.type === 'CallReported') {
      const report = record.event.payload;
      const facts = signedFactsOfReport({ ...report, startedAtMs: String(report.startedAtMs) });
      if (facts && record.key) this.reports.ledger.observe(record.event.siteId, record.key, facts, record.event.eventId);
    }
    const target = this.pending.get(record.partition);
    if (target !== undefined && BigInt(record.offset) >= target) {
      this.pending.delete(record.partition);
      this.markIfRebuilt(started);
    }
  }

  /** True once the calls present at start are applied (Zadarma notifications wait for it: 503 before). */
  isRebuilt(): boolean {
    return this.rebuilt;
  }

  private markIfRebuilt(started: number): void {
    if (this.rebuilt || this.pending.size > 0) return;
    this.rebuilt = true;
    this.logger.info({ event: 'signed_calls_rebuilt', calls: this.reports.ledger.size(), ms: Date.now() - started });
  }
}
