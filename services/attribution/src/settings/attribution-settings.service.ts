import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { createEvent, siteKey, type AnyDomainEvent } from '@calltrack/contracts';
import { KafkaBus, type CompactedTopicFollower } from '@calltrack/kafka';
import { ApiError, LOGGER, ReadinessService } from '@calltrack/service-kit';
import type { Logger } from '@calltrack/telemetry';
import { defaultSiteSettings, settingsEventInput, settingsFromEvent, type AttributionSettings, type SiteSettings } from './attribution-settings.js';
import { SERVICE_NAME } from '../config.js';

const MAX_REVISION = 65_535;

/**
 * Every site's attribution settings, rebuilt from the compacted attribution-settings
 * topic at start and followed after (every instance reads the whole topic). A change
 * is published as the next revision; this instance applies it as soon as Kafka
 * acknowledged it, so the answer and the next evaluation already use it. Changes to
 * one site are serialised per instance; `If-Match: "<revision>"` refuses a change made
 * on a stale read. A record never steps a site back to an older revision.
 */
@Injectable()
export class AttributionSettingsService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly sites = new Map<string, SiteSettings>();
  private readonly locks = new Map<string, Promise<unknown>>();
  /** libs/kafka's replay-then-follow: the group is <client id>.attribution-settings. */
  private readonly follower: CompactedTopicFollower;
  /** Resolves once the topic was read up to its end at start. */
  readonly loaded: Promise<void>;

  constructor(
    private readonly bus: KafkaBus,
    private readonly readiness: ReadinessService,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.follower = bus.replayThenFollow({
      name: 'attribution-settings',
      topics: ['attributionSettings'],
      apply: ({ event }) => {
        if (event) this.apply(event);
      },
      onReplayRestart: () => this.sites.clear(),
    });
    this.loaded = this.follower.whenReady();
  }

  async onApplicationBootstrap(): Promise<void> {
    this.readiness.register('attribution_settings_loaded', () => this.follower.isReady());
    const { records } = await this.follower.start();
    this.logger.info({ event: 'attribution_settings_loaded', records, sites: this.sites.size });
  }

  async onModuleDestroy(): Promise<void> {
    await this.follower.stop();
  }

  private apply(event: AnyDomainEvent): void {
    if (event.type !== 'AttributionSettingsChanged') return;
    const next = settingsFromEvent(event.payload, event.occurredAtMs);
    const current = this.sites.get(event.siteId);
    if (current && next.revision < current.revision) return;
    this.sites.set(event.siteId, next);
  }

  /** The settings in force for a site: the latest published, or the defaults (revision 0). */
  get(siteId: string): SiteSettings {
    return this.sites.get(siteId) ?? defaultSiteSettings();
  }

  /**
   * Publishes the site's next settings revision: `compute` gets the current settings and
   * returns the new ones. Resolves with what is now in force.
   */
  async change(siteId: string, ifMatch: string | undefined, changedBy: string, compute: (current: SiteSettings) => AttributionSettings): Promise<SiteSettings> {
    const reason = 'update';
    const run = (this.locks.get(siteId) ?? Promise.resolve()).then(async () => {
      const current = this.get(siteId);
      if (ifMatch !== undefined && ifMatch !== '*' && ifMatch !== etagOf(current)) {
        throw new ApiError(
          412,
          'revision_mismatch',
          `the attribution settings of ${siteId} are at revision ${current.revision}, not ${ifMatch}: read them again and retry`,
        );
      }
      if (current.revision >= MAX_REVISION) throw new ApiError(409, 'revision_limit', `the attribution settings of ${siteId} reached revision ${MAX_REVISION}`);
      const event = createEvent('AttributionSettingsChanged', settingsEventInput(compute(current), current.revision + 1, changedBy, reason), {
        siteId,
        producer: SERVICE_NAME,
      });
      await this.bus.producer.publish('attributionSettings', siteKey(siteId), event);
      this.apply(event);
      this.logger.info({ event: 'attribution_settings_changed', site_id: siteId, revision: current.revision + 1, reason, changed_by: changedBy });
      return this.get(siteId);
    });
    this.locks.set(
      siteId,
      run.catch(() => undefined),
    );
    return run;
  }
}

export function etagOf(settings: SiteSettings): string {
  return `"${settings.revision}"`;
}
