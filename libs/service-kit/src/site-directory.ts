import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import type { calltrack } from '@calltrack/contracts';
import { KafkaBus, ReplayWatermark, type BatchConsumer } from '@calltrack/kafka';
import type { Logger } from '@calltrack/telemetry';
import { ReadinessService } from './readiness.service.js';
import { LOGGER } from './service-core.module.js';

export type SiteConfig = calltrack.events.v1.SiteConfigured;

/**
 * Every site's tracking configuration, as published on the `sites` topic.
 * Each instance reads the whole (compacted) topic at start and then follows
 * it, so it needs a consumer group of its own.
 */
@Injectable()
export class SiteDirectory implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly sites = new Map<string, SiteConfig>();
  private readonly replayed = new ReplayWatermark();
  private consumer: BatchConsumer | undefined;
  private loaded = false;

  constructor(
    private readonly bus: KafkaBus,
    private readonly readiness: ReadinessService,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.readiness.register('sites_loaded', () => this.loaded);
    const { records } = await this.bus.replay(['sites'], (r) => {
      this.replayed.mark(r.topic, r.partition, r.offset);
      if (r.event?.type === 'SiteConfigured') this.sites.set(r.event.siteId, r.event.payload);
    });
    this.loaded = true;
    this.logger.info({ event: 'sites_loaded', records, sites: this.sites.size });
    this.consumer = this.bus.consumer({
      groupId: `${this.bus.settings.clientId}.sites`,
      perInstance: true,
      topics: ['sites'],
      fromBeginning: true,
      handle: async (record) => {
        // The consumer starts from the beginning; what the replay applied must not step a site back.
        if (this.replayed.covers(record.topic, record.partition, record.offset)) return;
        if (record.event.type === 'SiteConfigured') this.sites.set(record.event.siteId, record.event.payload);
      },
    });
    await this.consumer.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.consumer?.stop();
  }

  get(siteId: string): SiteConfig | undefined {
    return this.sites.get(siteId);
  }
}
