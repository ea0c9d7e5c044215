import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { WriterFences, type DomainEvent } from '@calltrack/contracts';
import { KafkaBus, NonRetriableError, type BatchConsumer, type ConsumedRecord } from '@calltrack/kafka';
import { LOGGER, ReadinessService } from '@calltrack/service-kit';
import type { Logger } from '@calltrack/telemetry';
import { settingsRow } from '../settings/attribution-settings.js';
import { AttributionStore } from '../store/attribution-store.js';
import { BatchBuffer } from './batch-buffer.js';
import { CallPipeline } from '../pipeline/call-pipeline.js';
import type { Redemption } from '../matching/call-matching.js';
import { SERVICE_NAME } from '../config.js';
import { adCostRows, conversionRevenueRow } from '../reports/ad-costs.js';
import { VisitEnrichment } from './visit-enrichment.js';
import {
  callCommentRow,
  callTagRow,
  checkLeaseExpired,
  checkLeaseExtended,
  grantedLeaseRow,
  extendedLeaseRow,
  promoRedemptionRow,
  releasedLeaseRow,
  sessionVerdictRow,
  visitRow,
  withLeaseGrantedAt,
} from '../store/row-mappers.js';
import { mapResult, ok, type StepResult } from '../step-result.js';
import type {
  AdCostRow,
  CallCommentRow,
  CallTagRow,
  ConversionRevenueRow,
  LeaseRow,
  PromoRedemptionRow,
  SessionVerdictRow,
  SettingsRow,
  VisitRow,
} from '../store/rows.js';

type StateItem =
  | { kind: 'visit'; row: VisitRow }
  | { kind: 'granted'; row: LeaseRow }
  | { kind: 'released'; event: DomainEvent<'LeaseExpired'> }
  | { kind: 'extended'; event: DomainEvent<'LeaseExtended'> }
  | { kind: 'verdict'; row: SessionVerdictRow }
  | { kind: 'redeemed'; row: PromoRedemptionRow }
  | { kind: 'settings'; row: SettingsRow }
  | { kind: 'tag'; row: CallTagRow }
  | { kind: 'comment'; row: CallCommentRow }
  | { kind: 'costs'; rows: AdCostRow[] }
  | { kind: 'revenue'; row: ConversionRevenueRow };

interface PreparedRows {
  visits: VisitRow[];
  leases: LeaseRow[];
  verdicts: SessionVerdictRow[];
  redemptions: PromoRedemptionRow[];
  settings: SettingsRow[];
  tags: CallTagRow[];
  comments: CallCommentRow[];
  costs: AdCostRow[];
  revenue: ConversionRevenueRow[];
}

const leaseKey = (siteId: string, leaseId: string): string => `${siteId}\n${leaseId}`;

/**
 * Projects visits (SessionStarted), leases (LeaseGranted, then LeaseExtended and
 * LeaseExpired as new versions), session verdicts (SessionScreened), promo-code
 * redemptions (PromoCodeRedeemed), the settings history (AttributionSettingsChanged)
 * and call tags and comments into ClickHouse: handle() checks and buffers, flush()
 * writes one insert per table per batch, and the batch consumer commits the offsets
 * after that. A redemption then re-attributes the call it names, if already stored.
 */
@Injectable()
export class StateConsumer implements OnApplicationBootstrap, OnModuleDestroy {
  private consumer: BatchConsumer | undefined;
  private readonly buffer = new BatchBuffer<StateItem>();
  /** Writer fences of pool-events (number-pool's single writer per partition). */
  private readonly poolFences = new WriterFences();
  // Rows of the batch being flushed, kept across flush retries so a retry inserts the same rows.
  private prepared: PreparedRows | undefined;

  constructor(
    private readonly bus: KafkaBus,
    private readonly store: AttributionStore,
    private readonly pipeline: CallPipeline,
    private readonly readiness: ReadinessService,
    private readonly enrichment: VisitEnrichment,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.consumer = this.bus.consumer({
      groupId: `${SERVICE_NAME}.state`,
      topics: ['sessions', 'poolEvents', 'antifraudVerdicts', 'attributionSettings', 'callAnnotations', 'adCosts'],
      fromBeginning: true,
      handle: async (record) => this.handle(record),
      flush: () => this.flush(),
    });
    this.readiness.register('state_consumer', () => this.consumer?.isReady() ?? false);
    await this.consumer.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.consumer?.stop();
  }

  private async handle(record: ConsumedRecord): Promise<void> {
    // Any new record (of this batch, or of a new one after an abandoned batch) invalidates prepared rows.
    this.prepared = undefined;
    if (this.buffer.track(record)) this.logger.info({ event: 'abandoned_batch_dropped', consumer: 'state' });
    const event = record.event;
    // A stalled former number-pool owner's late event (older writer epoch) is not a fact.
    if (record.topic === 'poolEvents' && !this.poolFences.admit(record.partition, record.offset, event)) return;
    const item = this.itemOf(event);
    if (item.ok) {
      if (item.value) this.buffer.push(item.value);
    } else if (item.outcome === 'dead_letter') {
      // The one place a state event is dead-lettered: the batch consumer sends a NonRetriableError to the dead-letter topic.
      throw new NonRetriableError(item.reason);
    } else {
      this.logger.info({ event: 'state_event_dropped', type: event.type, event_id: event.eventId, reason: item.reason });
    }
  }

  /** What an event adds to the batch (nothing for an event with nothing to store), or why it is a dead letter: mapping checks it. */
  private itemOf(event: ConsumedRecord['event']): StepResult<StateItem | undefined> {
    switch (event.type) {
      case 'SessionStarted':
        return mapResult(visitRow(event), (row) => ({
          kind: 'visit',
          row: { ...row, ...this.enrichment.of(event.payload.userAgent, event.payload.clientIp) },
        }));
      // A promo-code lease holds no number: nothing for number matching (promo redemptions link calls).
      case 'LeaseGranted':
        return event.payload.trackingNumber ? mapResult(grantedLeaseRow(event), (row) => ({ kind: 'granted', row })) : ok(undefined);
      case 'LeaseExpired':
        return event.payload.trackingNumber ? mapResult(checkLeaseExpired(event), (e) => ({ kind: 'released', event: e })) : ok(undefined);
      case 'LeaseExtended':
        return event.payload.trackingNumber ? mapResult(checkLeaseExtended(event), (e) => ({ kind: 'extended', event: e })) : ok(undefined);
      case 'SessionScreened':
        return mapResult(sessionVerdictRow(event), (row) => ({ kind: 'verdict', row }));
      case 'PromoCodeRedeemed':
        // Its lease's grant time is added in flush, where the lease is looked up.
        return mapResult(promoRedemptionRow(event), (row) => ({ kind: 'redeemed', row }));
      case 'AttributionSettingsChanged':
        return ok({ kind: 'settings', row: settingsRow(event) });
      case 'CallTagAdded':
      case 'CallTagRemoved':
        return mapResult(callTagRow(event), (row) => ({ kind: 'tag', row }));
      case 'CallCommentAdded':
        return mapResult(callCommentRow(event), (row) => ({ kind: 'comment', row }));
      case 'ConversionRevenueRecorded':
        return mapResult(conversionRevenueRow(event), (row) => ({ kind: 'revenue', row }));
      case 'AdCostsImported':
        return mapResult(adCostRows(event), (rows) => ({ kind: 'costs', rows }));
      default:
        // LeaseRejected, NumberCallObserved, NumberQuarantineEnded: nothing to store.
        return ok(undefined);
    }
  }

  private async flush(): Promise<void> {
    if (this.buffer.isEmpty) {
      this.buffer.clear();
      return;
    }
    this.prepared ??= await this.prepare(this.buffer.items);
    const { visits, leases, verdicts, redemptions, settings, tags, comments, costs, revenue } = this.prepared;
    await this.store.write('visits', visits, this.buffer.token('visits', visits));
    await this.store.write('leases', leases, this.buffer.token('leases', leases));
    await this.store.write('session_verdicts', verdicts, this.buffer.token('session_verdicts', verdicts));
    await this.store.write('promo_redemptions', redemptions, this.buffer.token('promo_redemptions', redemptions));
    await this.store.write('attribution_settings', settings, this.buffer.token('attribution_settings', settings));
    await this.store.write('call_tags', tags, this.buffer.token('call_tags', tags));
    await this.store.write('call_comments', comments, this.buffer.token('call_comments', comments));
    await this.store.write('ad_costs', costs, this.buffer.token('ad_costs', costs));
    await this.store.write('conversion_revenue', revenue, this.buffer.token('conversion_revenue', revenue));
    // A call reported before its code was redeemed is re-attributed now (one that comes later finds the redemption itself).
    if (redemptions.length > 0) await this.pipeline.reevaluateRedeemed(redemptions.map(redemptionOf));
    this.logger.debug({
      event: 'state_rows_written',
      visits: visits.length,
      leases: leases.length,
      verdicts: verdicts.length,
      redemptions: redemptions.length,
    });
    this.prepared = undefined;
    this.buffer.clear();
  }

  /** Turns the batch into rows; a release becomes the next version of its lease row (from this batch or ClickHouse). */
  private async prepare(items: readonly StateItem[]): Promise<PreparedRows> {
    const out: PreparedRows = { visits: [], leases: [], verdicts: [], redemptions: [], settings: [], tags: [], comments: [], costs: [], revenue: [] };
    const granted = new Map<string, LeaseRow>();
    const redeemed: PromoRedemptionRow[] = [];
    // Extensions and releases, in log order: each becomes the next version of its lease row.
    const changes: Array<DomainEvent<'LeaseExpired'> | DomainEvent<'LeaseExtended'>> = [];
    for (const item of items) {
      if (item.kind === 'visit') out.visits.push(item.row);
      else if (item.kind === 'verdict') out.verdicts.push(item.row);
      else if (item.kind === 'settings') out.settings.push(item.row);
      else if (item.kind === 'tag') out.tags.push(item.row);
      else if (item.kind === 'comment') out.comments.push(item.row);
      else if (item.kind === 'costs') out.costs.push(...item.rows);
      else if (item.kind === 'revenue') out.revenue.push(item.row);
      else if (item.kind === 'redeemed') redeemed.push(item.row);
      else if (item.kind === 'granted') {
        out.leases.push(item.row);
        granted.set(leaseKey(item.row.site_id, item.row.lease_id), item.row);
      } else changes.push(item.event);
    }
    // Grant, release and redemption of a lease share the site's partition, so the grant was
    // stored by an earlier batch or is in this one.
    const missing = [
      ...changes
        .filter((e) => !granted.has(leaseKey(e.siteId, e.payload.leaseId)))
        .map((e) => ({ siteId: e.siteId, trackingNumber: e.payload.trackingNumber, leaseId: e.payload.leaseId })),
      ...redeemed
        .filter((r) => r.lease_id && !granted.has(leaseKey(r.site_id, r.lease_id)))
        .map((r) => ({ siteId: r.site_id, trackingNumber: '', leaseId: r.lease_id })),
    ];
    const stored = await this.store.leasesById(missing);
    for (const row of stored) granted.set(leaseKey(row.site_id, row.lease_id), row);
    for (const change of changes) {
      const key = leaseKey(change.siteId, change.payload.leaseId);
      const lease = granted.get(key);
      if (!lease) {
        // Its grant never reached us (dead-lettered): calls fall back to the lease being unknown.
        this.logger.warn({ event: 'lease_change_without_lease', site_id: change.siteId, lease_id: change.payload.leaseId, event_id: change.eventId });
        continue;
      }
      const row = change.type === 'LeaseExtended' ? extendedLeaseRow(lease, change) : releasedLeaseRow(lease, change);
      // A later change of the same lease in this batch builds on this one.
      granted.set(key, row);
      out.leases.push(row);
    }
    for (const r of redeemed) {
      const lease = granted.get(leaseKey(r.site_id, r.lease_id));
      out.redemptions.push(withLeaseGrantedAt(r, lease?.granted_at ? Date.parse(lease.granted_at) : null));
    }
    return out;
  }
}

function redemptionOf(r: PromoRedemptionRow): Redemption {
  const ms = (t: string | null): number => (t ? Date.parse(t) : 0);
  return {
    eventId: r.event_id,
    siteId: r.site_id,
    promoCode: r.promo_code,
    sessionId: r.session_id,
    visitorId: r.visitor_id,
    leaseId: r.lease_id,
    callId: r.call_id,
    callerNumber: r.caller_number,
    calledAtMs: ms(r.called_at),
    redeemedAtMs: ms(r.redeemed_at),
    leaseGrantedAtMs: r.lease_granted_at ? ms(r.lease_granted_at) : null,
  };
}
