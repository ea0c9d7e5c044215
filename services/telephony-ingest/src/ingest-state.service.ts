import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { createEvent, siteKey, type DomainEvent } from '@calltrack/contracts';
import { KafkaBus, NonRetriableError, ReplayWatermark, type BatchConsumer, type ConsumedRecord } from '@calltrack/kafka';
import { LOGGER, ReadinessService } from '@calltrack/service-kit';
import type { Logger } from '@calltrack/telemetry';
import { SERVICE_NAME } from './config.js';
import { IngestState, type SiteView } from './ingest-state.js';


// How long the admin API waits to see its own secret applied before answering.
const APPLY_WAIT_MS = 10_000;

/**
 * Keeps each site's country and webhook secret. Rebuilt at start by replaying
 * sites and telephony-secrets, then kept current by a consumer group of its
 * own (every instance must see every site and secret).
 */
@Injectable()
export class IngestStateService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly state = new IngestState();
  private rebuilt = false;
  private consumer: BatchConsumer | undefined;
  private readonly replayed = new ReplayWatermark();
  private readonly waiters = new Map<string, () => void>();

  constructor(
    private readonly bus: KafkaBus,
    private readonly readiness: ReadinessService,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.readiness.register('state_rebuilt', () => this.rebuilt);
    const started = Date.now();
    const { records } = await this.replay();
    this.rebuilt = true;
    this.logger.info({ event: 'ingest_state_rebuilt', records, ...this.state.counts(), ms: Date.now() - started });

    this.consumer = this.bus.consumer({
      groupId: `${SERVICE_NAME}.state`,
      perInstance: true,
      topics: ['sites', 'telephonySecrets'],
      fromBeginning: true,
      handle: async (record) => this.onRecord(record),
    });
    await this.consumer.start();
  }

  // bus.replay retries as a whole; re-applying the same records in order ends in the same state.
  private replay(): Promise<{ records: number }> {
    return this.bus.replay(['sites', 'telephonySecrets'], (r) => {
      this.replayed.mark(r.topic, r.partition, r.offset);
      if (!r.event) return;
      const result = this.state.apply(r.event as DomainEvent, r.key);
      if (!result.applied) this.logger.warn({ event: 'state_record_skipped', topic: r.topic, partition: r.partition, offset: r.offset, site_id: r.event.siteId, problem: result.problem });
    });
  }

  async onModuleDestroy(): Promise<void> {
    await this.consumer?.stop();
    for (const wake of this.waiters.values()) wake();
  }

  private async onRecord(record: ConsumedRecord): Promise<void> {
    if (this.replayed.covers(record.topic, record.partition, record.offset)) return;
    const result = this.state.apply(record.event as DomainEvent, record.key);
    if (!result.applied) throw new NonRetriableError(result.problem);
    this.waiters.get(record.event.eventId)?.();
    if (record.event.type === 'WebhookSecretSet') this.logger.info({ event: 'webhook_secret_applied', site_id: record.event.siteId, event_id: record.event.eventId });
  }

  isRebuilt(): boolean {
    return this.rebuilt;
  }

  site(siteId: string): SiteView | undefined {
    return this.state.site(siteId);
  }

  /**
   * Publishes a site's new webhook secret and waits (bounded) until this
   * instance applied it, so a webhook sent right after the admin call verifies.
   */
  async setSecret(siteId: string, secret: string): Promise<{ eventId: string; applied: boolean }> {
    const event = createEvent('WebhookSecretSet', { secret }, { siteId, producer: SERVICE_NAME });
    let timer: NodeJS.Timeout | undefined;
    const applied = new Promise<boolean>((resolve) => {
      this.waiters.set(event.eventId, () => resolve(this.state.site(siteId)?.secret !== undefined));
      timer = setTimeout(() => resolve(false), APPLY_WAIT_MS);
    });
    try {
      await this.bus.producer.publish('telephonySecrets', siteKey(siteId), event);
      const ok = await applied;
      if (!ok) this.logger.warn({ event: 'webhook_secret_apply_slow', site_id: siteId, event_id: event.eventId });
      return { eventId: event.eventId, applied: ok };
    } finally {
      clearTimeout(timer);
      this.waiters.delete(event.eventId);
    }
  }
}
