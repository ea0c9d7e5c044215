import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { calltrack } from '@calltrack/contracts';
import { KafkaBus, type BatchConsumer } from '@calltrack/kafka';
import { CONFIG, ReadinessService } from '@calltrack/service-kit';
import type { SessionTrackerConfig } from './config.js';

/**
 * Visitors antifraud judged to be bots (SessionScreened with a bot verdict): their
 * later visits get the site's default number and take no lease, even when their
 * user agent looks like a browser. Each instance reads the verdicts topic from the
 * beginning into a bounded set (the oldest flags are forgotten first).
 */
@Injectable()
export class FlaggedVisitorsService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly flagged = new Map<string, string>();
  private consumer: BatchConsumer | undefined;

  constructor(
    private readonly bus: KafkaBus,
    private readonly readiness: ReadinessService,
    @Inject(CONFIG) private readonly config: SessionTrackerConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.consumer = this.bus.consumer({
      groupId: 'session-tracker.flagged-visitors',
      perInstance: true,
      topics: ['antifraudVerdicts'],
      fromBeginning: true,
      commitIntervalMs: 5000,
      handle: async (record) => {
        const e = record.event;
        if (e.type !== 'SessionScreened' || e.payload.verdict !== calltrack.events.v1.Verdict.VERDICT_BOT || !e.payload.visitorId) return;
        const key = `${e.siteId}\n${e.payload.visitorId}`;
        this.flagged.delete(key);
        this.flagged.set(key, e.payload.reason || 'bot');
        if (this.flagged.size > this.config.FLAGGED_VISITORS_LIMIT) this.flagged.delete(this.flagged.keys().next().value as string);
      },
    });
    await this.consumer.start();
    this.readiness.register('flagged_visitors', () => this.consumer?.isReady() ?? false);
  }

  async onModuleDestroy(): Promise<void> {
    await this.consumer?.stop();
  }

  /** Why antifraud flagged this visitor, or undefined. */
  reason(siteId: string, visitorId: string | undefined): string | undefined {
    return visitorId ? this.flagged.get(`${siteId}\n${visitorId}`) : undefined;
  }
}
