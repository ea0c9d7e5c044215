import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { createEvent, siteKey, type EventInput } from '@calltrack/contracts';
import { KafkaBus, NonRetriableError, ReplayWatermark, type BatchConsumer, type ConsumedRecord } from '@calltrack/kafka';
import { LOGGER, ReadinessService } from '@calltrack/service-kit';
import type { Logger } from '@calltrack/telemetry';
import { SERVICE_NAME } from '../config.js';
import { IngestState, type SiteSettings, type SiteView } from './ingest-state.js';
import { credentialsToRecord, providerCredentialsKey, type CredentialsOf, type ProviderCredentials, type WebhookProvider } from './provider-credentials.js';

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
  private markRebuilt!: () => void;
  private readonly rebuiltPromise = new Promise<void>((resolve) => (this.markRebuilt = resolve));
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
    this.markRebuilt();
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
      const result = this.state.apply(r.event, r.key);
      if (!result.applied)
        this.logger.warn({
          event: 'state_record_skipped',
          topic: r.topic,
          partition: r.partition,
          offset: r.offset,
          site_id: r.event.siteId,
          problem: result.problem,
        });
    });
  }

  async onModuleDestroy(): Promise<void> {
    await this.consumer?.stop();
    for (const wake of this.waiters.values()) wake();
  }

  private async onRecord(record: ConsumedRecord): Promise<void> {
    if (this.replayed.covers(record.topic, record.partition, record.offset)) return;
    const result = this.state.apply(record.event, record.key);
    if (!result.applied) throw new NonRetriableError(result.problem);
    this.waiters.get(record.event.eventId)?.();
    if (record.event.type === 'WebhookSecretSet') {
      const provider = (record.event.payload as { provider?: string }).provider || 'generic';
      this.logger.info({ event: 'webhook_secret_applied', site_id: record.event.siteId, provider, event_id: record.event.eventId });
    }
  }

  isRebuilt(): boolean {
    return this.rebuilt;
  }

  /** Resolves once sites and secrets were replayed (what consumers of the state that start on their own wait for). */
  whenRebuilt(): Promise<void> {
    return this.rebuiltPromise;
  }

  site(siteId: string): SiteView | undefined {
    return this.state.site(siteId);
  }

  siteSettings(siteId: string): SiteSettings | undefined {
    return this.state.siteSettings(siteId);
  }

  providerCredentials<P extends WebhookProvider>(siteId: string, provider: P): CredentialsOf<P> | undefined {
    return this.state.providerCredentials(siteId, provider);
  }

  configuredProviders(siteId: string): WebhookProvider[] {
    return this.state.configuredProviders(siteId);
  }

  /**
   * Publishes a site's new webhook secret and waits (bounded) until this
   * instance applied it, so a webhook sent right after the admin call verifies.
   */
  setSecret(siteId: string, secret: string): Promise<{ eventId: string; applied: boolean }> {
    return this.publishAndWait(siteId, siteKey(siteId), { secret }, () => this.state.site(siteId)?.secret !== undefined);
  }

  /** Publishes (sets or rotates) a provider's credentials for a site, and waits like setSecret. */
  setProviderCredentials(siteId: string, credentials: ProviderCredentials): Promise<{ eventId: string; applied: boolean }> {
    const { provider } = credentials;
    return this.publishAndWait(
      siteId,
      providerCredentialsKey(siteId, provider),
      credentialsToRecord(credentials),
      () => this.state.providerCredentials(siteId, provider) !== undefined,
    );
  }

  private async publishAndWait(
    siteId: string,
    key: string,
    payload: EventInput<'WebhookSecretSet'>,
    isApplied: () => boolean,
  ): Promise<{ eventId: string; applied: boolean }> {
    const event = createEvent('WebhookSecretSet', payload, { siteId, producer: SERVICE_NAME });
    let timer: NodeJS.Timeout | undefined;
    const applied = new Promise<boolean>((resolve) => {
      this.waiters.set(event.eventId, () => resolve(isApplied()));
      timer = setTimeout(() => resolve(false), APPLY_WAIT_MS);
    });
    try {
      await this.bus.producer.publish('telephonySecrets', key, event);
      const ok = await applied;
      if (!ok) this.logger.warn({ event: 'webhook_secret_apply_slow', site_id: siteId, event_id: event.eventId });
      return { eventId: event.eventId, applied: ok };
    } finally {
      clearTimeout(timer);
      this.waiters.delete(event.eventId);
    }
  }
}
