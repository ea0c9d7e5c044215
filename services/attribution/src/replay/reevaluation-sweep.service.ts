import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { CONFIG, LOGGER } from '@calltrack/service-kit';
import type { Logger } from '@calltrack/telemetry';
import { LIMITS } from '../settings/attribution-settings.js';
import { AttributionSettingsService } from '../settings/attribution-settings.service.js';
import { AttributionStore } from '../store/attribution-store.js';
import { CallPipeline } from '../pipeline/call-pipeline.js';
import { CallLookups } from '../store/call-lookups.js';
import type { AttributionConfig } from '../config.js';

const HOUR_MS = 3_600_000;
/** Redemptions this recent are checked on every sweep to have reached their calls. */
const REDEMPTION_RECHECK_MS = HOUR_MS;
const MAX_CALLS_PER_SWEEP = 5000;

/**
 * What time decides rather than an event: every ATTRIBUTION_SWEEP_INTERVAL_MS, missed
 * calls whose call-back window passed without a call-back become "not_called_back"; and
 * promo-code redemptions of the last hour are checked to have reached their calls (a
 * call and its redemption evaluated at the same moment by two instances could miss each
 * other; this repairs it). Both evaluate stored calls again, which writes only what changed.
 */
@Injectable()
export class ReevaluationSweepService implements OnApplicationBootstrap, OnModuleDestroy {
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<void> | undefined;
  private readonly intervalMs: number;

  constructor(
    private readonly store: AttributionStore,
    private readonly lookups: CallLookups,
    private readonly pipeline: CallPipeline,
    private readonly settings: AttributionSettingsService,
    @Inject(CONFIG) config: AttributionConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.intervalMs = config.ATTRIBUTION_SWEEP_INTERVAL_MS;
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      this.sweeping ??= this.sweep().finally(() => (this.sweeping = undefined));
    }, this.intervalMs);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.sweeping;
  }

  async sweep(nowMs = Date.now()): Promise<void> {
    if (!this.store.isMigrated()) return;
    try {
      await this.settings.loaded;
      await this.pipeline.reevaluate(async () => {
        const pending = await this.lookups.pendingCallbacks(nowMs - (LIMITS.callbackWindowHours.max + 24) * HOUR_MS, MAX_CALLS_PER_SWEEP);
        return pending.filter((r) => (Date.parse(r.started_at ?? '') || 0) + this.settings.get(r.site_id).callbackWindowHours * HOUR_MS <= nowMs);
      }, 'callback_window_passed');
      const recent = await this.lookups.redemptionsSince(nowMs - REDEMPTION_RECHECK_MS);
      if (recent.length > 0) await this.pipeline.reevaluateRedeemed(recent);
    } catch (err) {
      this.logger.warn({ event: 'reevaluation_sweep_failed', err: (err as Error).message });
    }
  }
}
