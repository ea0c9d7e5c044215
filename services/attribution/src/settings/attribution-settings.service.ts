import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { createEvent, siteKey, type AnyDomainEvent } from '@calltrack/contracts';
import { KafkaBus, ReplayWatermark, type BatchConsumer } from '@calltrack/kafka';
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
  private readonly replayed = new ReplayWatermark();
  private readonly locks = new Map<string, Promise<unknown>>();
  private consumer: BatchConsumer | undefined;
  private markLoaded!: () => void;
  /** Resolves once the topic was read up to its end at start. */
  readonly loaded = new Promise<void>((resolve) => (this.markLoaded = resolve));
  private isLoaded = false;

  constructor(
    private readonly bus: KafkaBus,
    private readonly readiness: ReadinessService,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.readiness.register('attribution_settings_loaded', () => this.isLoaded);
    const { records } = await this.bus.replay(
      ['attributionSettings'],
      (r) => {
        this.replayed.mark(r.topic, r.partition, r.offset);
        if (r.event) this.apply(r.event);
      },
      { onRestart: () => this.sites.clear() },
    );
    this.isLoaded = true;
    this.markLoaded();
    this.logger.info({ event: 'attribution_settings_loaded', records, sites: this.sites.size });
    this.consumer = this.bus.consumer({
      groupId: `${this.bus.settings.clientId}.attribution-settings`,
      perInstance: true,
      topics: ['attributionSettings'],
      fromBeginning: true,
      handle: async (record) => {
        if (this.replayed.covers(record.topic, record.partition, record.offset)) return;
        this.apply(record.event);
      },
    });
    await this.consumer.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.consumer?.stop();
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
