import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import type { calltrack } from '@calltrack/contracts';
import { KafkaBus, type CompactedTopicFollower } from '@calltrack/kafka';
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
  private readonly follower: CompactedTopicFollower;

  constructor(
    bus: KafkaBus,
    private readonly readiness: ReadinessService,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.follower = bus.replayThenFollow({
      name: 'sites',
      topics: ['sites'],
      apply: ({ event }) => {
        if (event?.type === 'SiteConfigured') this.sites.set(event.siteId, event.payload);
      },
    });
  }

  async onApplicationBootstrap(): Promise<void> {
    this.readiness.register('sites_loaded', () => this.follower.isReady());
    const { records } = await this.follower.start();
    this.logger.info({ event: 'sites_loaded', records, sites: this.sites.size });
  }

  async onModuleDestroy(): Promise<void> {
    await this.follower.stop();
  }

  get(siteId: string): SiteConfig | undefined {
    return this.sites.get(siteId);
  }
}
