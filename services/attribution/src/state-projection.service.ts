import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import type { DomainEvent } from '@calltrack/contracts';
import { KafkaBus, type BatchConsumer, type ConsumedRecord } from '@calltrack/kafka';
import { LOGGER, ReadinessService } from '@calltrack/service-kit';
import type { Logger } from '@calltrack/telemetry';
import { AttributionStore, type Row, type TableName } from './attribution-store.js';
import { SERVICE_NAME } from './config.js';
import { stateRow } from './row-mappers.js';

/**
 * Projects visits, leases, lease releases and session verdicts into ClickHouse.
 * One insert per table per batch; the dedup token names the batch's offsets, so
 * a batch redelivered after a crash inserts nothing twice.
 */
@Injectable()
export class StateProjectionService implements OnApplicationBootstrap, OnModuleDestroy {
  private consumer: BatchConsumer | undefined;
  private rows = new Map<TableName, Row[]>();
  private batch: { topic: string; partition: number; first: string; last: string } | undefined;

  constructor(
    private readonly bus: KafkaBus,
    private readonly store: AttributionStore,
    private readonly readiness: ReadinessService,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.consumer = this.bus.consumer({
      groupId: `${SERVICE_NAME}.state`,
      topics: ['sessions', 'poolEvents', 'antifraudVerdicts'],
      fromBeginning: true,
      handle: async (record) => this.handle(record),
      flush: () => this.flush(),
    });
    await this.consumer.start();
    this.readiness.register('state_consumer', () => this.consumer?.isReady() ?? false);
  }

  async onModuleDestroy(): Promise<void> {
    await this.consumer?.stop();
  }

  private async handle(record: ConsumedRecord): Promise<void> {
    this.batch = this.batch
      ? { ...this.batch, last: record.offset }
      : { topic: record.topicName, partition: record.partition, first: record.offset, last: record.offset };
    const projected = stateRow(record.event as DomainEvent);
    if (!projected) return;
    const list = this.rows.get(projected.table) ?? [];
    list.push(projected.row);
    this.rows.set(projected.table, list);
  }

  private async flush(): Promise<void> {
    const batch = this.batch;
    if (!batch) return;
    const token = `${batch.topic}:${batch.partition}:${batch.first}-${batch.last}`;
    for (const [table, rows] of this.rows) {
      await this.store.write(table, rows, `${token}:${table}`);
      this.logger.debug({ event: 'state_rows_written', table, rows: rows.length });
    }
    this.rows = new Map();
    this.batch = undefined;
  }
}
