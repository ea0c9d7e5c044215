import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { CONFIG, LOGGER, RefusalLog } from '@calltrack/service-kit';
import type { Logger } from '@calltrack/telemetry';
import { AmiCallTracker } from './ami-call-tracker.js';
import { AmiClient, type AmiClientStatus } from './ami-client.js';
import type { AmiMessage } from './ami-protocol.js';
import type { AmiPbxConfig } from './asterisk-ami-config.js';
import { CallReports, type CallReportResult } from '../calls/call-reports.service.js';
import type { TelephonyIngestConfig } from '../config.js';
import { IngestStateService } from '../sites/ingest-state.service.js';
import { ProviderWebhookStats } from '../webhooks/shared/webhook-stats.js';

interface PbxEvents {
  config: AmiPbxConfig;
  tracker: AmiCallTracker;
  /** Events of one PBX are handled in arrival order. */
  queue: Promise<void>;
}

interface Pbx {
  events: PbxEvents;
  client: AmiClient;
}

/** One AMI connection as the stats endpoint shows it (no secret). */
export type AmiConnectionView = { name: string; host: string; port: number } & AmiClientStatus;

/**
 * Follows the Asterisk PBXes of ASTERISK_AMI_PBXES over AMI and reports their
 * calls like the webhook adapters do (merged per call, published on calls).
 * Connections start once the site state is rebuilt; a PBX that is down does
 * not make the service unready — it is retried with backoff and shown in the
 * site's webhook stats.
 */
@Injectable()
export class AsteriskAmiService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly pbxes: Pbx[] = [];

  constructor(
    private readonly state: IngestStateService,
    private readonly reports: CallReports,
    private readonly stats: ProviderWebhookStats,
    @Inject(CONFIG) private readonly config: TelephonyIngestConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly refusals: RefusalLog,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (this.config.ASTERISK_AMI_PBXES.length === 0) return;
    // Events before the sites are known could not be normalised: connect only then.
    await this.state.whenRebuilt();
    for (const config of this.config.ASTERISK_AMI_PBXES) {
      const events: PbxEvents = { config, tracker: new AmiCallTracker(config), queue: Promise.resolve() };
      const client = new AmiClient({
        host: config.host,
        port: config.port,
        username: config.username,
        secret: config.secret,
        reconnectMinMs: this.config.ASTERISK_AMI_RECONNECT_MIN_MS,
        reconnectMaxMs: this.config.ASTERISK_AMI_RECONNECT_MAX_MS,
        logger: this.logger,
        label: `${config.siteId}/${config.name}`,
        onEvent: (m) => this.enqueue(events, m, Date.now()),
      });
      this.pbxes.push({ events, client });
      client.start();
    }
  }

  async onModuleDestroy(): Promise<void> {
    await Promise.all(this.pbxes.map((p) => p.client.stop()));
    await Promise.all(this.pbxes.map((p) => p.events.queue));
  }

  connections(siteId: string): AmiConnectionView[] {
    return this.pbxes
      .filter((p) => p.events.config.siteId === siteId)
      .map(({ events: { config }, client }) => ({ name: config.name, host: config.host, port: config.port, ...client.status() }));
  }

  private enqueue(pbx: PbxEvents, m: AmiMessage, receivedAtMs: number): void {
    pbx.queue = pbx.queue.then(() => this.handle(pbx, m, receivedAtMs));
  }

  private async handle(pbx: PbxEvents, m: AmiMessage, receivedAtMs: number): Promise<void> {
    const { siteId } = pbx.config;
    const site = this.state.siteSettings(siteId);
    if (!site) {
      this.logger.warn({ event: 'ami_site_unknown', site_id: siteId, pbx: pbx.config.name, ami_event: m.event });
      return;
    }
    for (const { observation, eventId } of pbx.tracker.handle(m, receivedAtMs, site)) {
      let result: CallReportResult;
      try {
        result = await this.reports.report(siteId, { kind: 'event', site, observation, eventId, receivedAtMs });
      } catch (err) {
        // AMI cannot redeliver: the call's next event reports it from what that event says.
        this.logger.error({ event: 'ami_report_failed', site_id: siteId, pbx: pbx.config.name, call_id: `asterisk:${observation.providerCallId}`, err });
        continue;
      }
      if (!result.ok) {
        // Nobody to answer a 400 to: an event the webhooks would refuse is dropped, counted and logged.
        this.stats.record(siteId, 'asterisk', result.reason);
        this.refusals.refused('webhooks.asterisk', siteId, result.reason, { event: 'webhook_rejected', provider: 'asterisk' });
        this.logger.warn({ event: 'ami_event_refused', site_id: siteId, pbx: pbx.config.name, ami_event: m.event, problems: result.problems });
        continue;
      }
      this.stats.record(siteId, 'asterisk', 'accepted');
      this.logger.info({
        event: 'webhook_accepted',
        provider: 'asterisk',
        site_id: siteId,
        call_id: result.callId,
        event_id: eventId,
        outcome: result.outcome,
      });
    }
  }
}
