import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { calltrack, callKey, callStatusLabel, createEvent, type DomainEvent, type EventInput } from '@calltrack/contracts';
import { KafkaBus, NonRetriableError, type BatchConsumer, type ConsumedRecord, type OutgoingRecord } from '@calltrack/kafka';
import { CONFIG, LOGGER, ReadinessService, SiteDirectory } from '@calltrack/service-kit';
import { context, type Logger } from '@calltrack/telemetry';
import { AttributionStore, type Row } from './attribution-store.js';
import { SERVICE_NAME, type AttributionConfig } from './config.js';
import { isFinalStatus, matchLease } from './lease-matching.js';
import { callRow } from './row-mappers.js';

const { MatchMethod } = calltrack.events.v1;
type Origin = Omit<EventInput<'CallAttributed'>, 'call' | 'verdict' | 'verdictReason' | 'final'>;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Matches each screened call to its origin (the lease that held the dialled
 * number, a static number's source, or unmatched with a reason), stores the
 * call's latest state in ClickHouse and publishes it as CallAttributed. In
 * flush(): insert first, then publish, then the batch consumer commits.
 */
@Injectable()
export class CallAttributionService implements OnApplicationBootstrap, OnModuleDestroy {
  private consumer: BatchConsumer | undefined;
  private rows: Row[] = [];
  private outbox: OutgoingRecord[] = [];
  // Highest version per call handled in the current batch (not yet in ClickHouse).
  private batchVersions = new Map<string, number>();
  private batch: { topic: string; partition: number; first: string; last: string } | undefined;

  constructor(
    private readonly bus: KafkaBus,
    private readonly store: AttributionStore,
    private readonly sites: SiteDirectory,
    private readonly readiness: ReadinessService,
    @Inject(CONFIG) private readonly config: AttributionConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.consumer = this.bus.consumer({
      groupId: `${SERVICE_NAME}.calls`,
      topics: ['screenedCalls'],
      fromBeginning: true,
      handle: async (record) => this.handle(record),
      flush: () => this.flush(),
    });
    await this.consumer.start();
    this.readiness.register('call_consumer', () => this.consumer?.isReady() ?? false);
  }

  async onModuleDestroy(): Promise<void> {
    await this.consumer?.stop();
  }

  private async handle(record: ConsumedRecord): Promise<void> {
    if (record.event.type !== 'CallScreened') return;
    const event = record.event as DomainEvent<'CallScreened'>;
    const call = event.payload.call;
    if (!call?.callId || !call.trackingNumber) throw new NonRetriableError('screened call without call id or tracking number');
    this.batch = this.batch
      ? { ...this.batch, last: record.offset }
      : { topic: record.topicName, partition: record.partition, first: record.offset, last: record.offset };
    const siteId = event.siteId;
    const startedAtMs = Number(call.startedAtMs) || event.occurredAtMs;
    const version = call.sequence || 1;
    const key = callKey(siteId, call.callId);
    const known = Math.max(this.batchVersions.get(key) ?? 0, await this.store.storedCallVersion(siteId, call.callId, startedAtMs));
    if (version < known) {
      // A late, older report: the newer state stays, and nothing regresses downstream.
      this.logger.info({ event: 'call_report_superseded', site_id: siteId, call_id: call.callId, version, known });
      return;
    }
    const origin = await this.origin(siteId, call, startedAtMs, record.timestampMs);
    const attributed = createEvent(
      'CallAttributed',
      { ...origin, call, verdict: event.payload.verdict, verdictReason: event.payload.reason, final: isFinalStatus(callStatusLabel(call.status)) },
      { siteId, producer: SERVICE_NAME, eventId: `${event.eventId}:attributed`, causationId: event.eventId, occurredAtMs: event.occurredAtMs },
    );
    this.rows.push(callRow(attributed, version));
    this.outbox.push({ topic: 'attributedCalls', key, event: attributed, traceContext: context.active() });
    this.batchVersions.set(key, version);
  }

  private async origin(siteId: string, call: calltrack.events.v1.ICallReported, startedAtMs: number, publishedAtMs: number): Promise<Origin> {
    const site = this.sites.get(siteId);
    const number = call.trackingNumber ?? '';
    const staticNumber = site?.staticNumbers.find((s) => s.number === number);
    if (staticNumber) {
      return { method: MatchMethod.MATCH_METHOD_STATIC, matchReason: 'static_number', utm: { source: staticNumber.utmSource, medium: staticNumber.utmMedium, campaign: staticNumber.utmCampaign } };
    }
    // Lease and visit events travel on other topics and may not be stored yet for a call
    // reported seconds after its visit: a fresh call waits a little for them.
    const deadline = publishedAtMs + this.config.ATTRIBUTION_STATE_WAIT_MS;
    for (;;) {
      const match = matchLease(await this.store.leaseCandidates(siteId, number, startedAtMs), startedAtMs, this.config.ATTRIBUTION_GRACE_SECONDS * 1000);
      const visit = match ? await this.store.visit(siteId, match.lease.sessionId, match.lease.grantedAtMs) : undefined;
      const waiting = Date.now() < deadline;
      if (match && (visit || !waiting)) {
        return {
          method: MatchMethod.MATCH_METHOD_DYNAMIC,
          matchReason: visit ? match.reason : `${match.reason}; visit_not_found`,
          sessionId: match.lease.sessionId,
          visitorId: match.lease.visitorId,
          leaseId: match.lease.leaseId,
          utm: visit ? { source: visit.utmSource, medium: visit.utmMedium, campaign: visit.utmCampaign, content: visit.utmContent, term: visit.utmTerm } : {},
          referrer: visit?.referrer ?? '',
          landingPage: visit?.landingPage ?? '',
          clickIds: visit?.clickIds ?? {},
          analyticsIds: visit?.analyticsIds ?? {},
        };
      }
      if (!waiting) {
        const reason = !site ? 'unknown_site' : site.poolNumbers.includes(number) ? 'no_lease_for_number' : 'number_not_tracked';
        return { method: MatchMethod.MATCH_METHOD_UNMATCHED, matchReason: reason };
      }
      await sleep(250);
    }
  }

  private async flush(): Promise<void> {
    const batch = this.batch;
    if (!batch) return;
    await this.store.write('calls', this.rows, `${batch.topic}:${batch.partition}:${batch.first}-${batch.last}:calls`);
    await this.bus.producer.publishMany(this.outbox);
    this.rows = [];
    this.outbox = [];
    this.batchVersions = new Map();
    this.batch = undefined;
  }
}
