import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { calltrack, callKey, createEvent, type DomainEvent } from '@calltrack/contracts';
import { KafkaBus, type BatchConsumer, type ConsumedRecord, type OutgoingRecord } from '@calltrack/kafka';
import { CONFIG, LOGGER, ReadinessService, SiteDirectory } from '@calltrack/service-kit';
import { context, type Context, type Logger } from '@calltrack/telemetry';
import { AttributionStore, LEASE_LOOKBACK_MS, type StoredCallState } from './attribution-store.js';
import { BatchBuffer } from './batch-buffer.js';
import { decideMatch, mayImproveWithState, originOf, type LeaseCandidate, type MatchDecision, type SiteNumbers, type VisitSource } from './call-matching.js';
import { callVersion, isFinalStatus, isSuperseded } from './call-version.js';
import { SERVICE_NAME, type AttributionConfig } from './config.js';
import { callRow, checkScreenedCall, type CallRow } from './row-mappers.js';

interface ScreenedCall {
  event: DomainEvent<'CallScreened'>;
  call: calltrack.events.v1.ICallReported;
  siteId: string;
  callId: string;
  trackingNumber: string;
  startedAtMs: number;
  version: number;
  /** When the record was published (Kafka timestamp): how fresh the call is. */
  publishedAtMs: number;
  traceContext: Context;
}

interface Attribution {
  decision: MatchDecision;
  visit: VisitSource | undefined;
}

interface PreparedCalls {
  rows: CallRow[];
  outbox: OutgoingRecord[];
}

const DAY_MS = 86_400_000;
const POLL_MS = 250;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const pairKey = (siteId: string, id: string): string => `${siteId}\n${id}`;

function siteNumbers(site: calltrack.events.v1.SiteConfigured | undefined): SiteNumbers | undefined {
  if (!site) return undefined;
  return {
    defaultNumber: site.defaultNumber,
    poolNumbers: site.poolNumbers,
    staticNumbers: site.staticNumbers.map((s) => ({ number: s.number ?? '', utmSource: s.utmSource ?? '', utmMedium: s.utmMedium ?? '', utmCampaign: s.utmCampaign ?? '' })),
  };
}

/**
 * Attributes each screened call: matches it to the lease that held the dialled number
 * (and that lease's visit), a static number's source, or nothing (with the reason);
 * stores the call's latest state in `calls` and publishes CallAttributed. Lookups run
 * once per batch in flush(); then the insert, then the publish, then the batch
 * consumer commits. A report older than the stored state of its call is dropped.
 */
@Injectable()
export class CallAttributionService implements OnApplicationBootstrap, OnModuleDestroy {
  private consumer: BatchConsumer | undefined;
  private readonly buffer = new BatchBuffer<ScreenedCall>();
  // Rows and events of the batch being flushed, kept across flush retries so a retry writes
  // and publishes exactly what the first attempt did.
  private prepared: PreparedCalls | undefined;
  private readonly graceMs: number;
  private readonly stateWaitMs: number;

  constructor(
    private readonly bus: KafkaBus,
    private readonly store: AttributionStore,
    private readonly sites: SiteDirectory,
    private readonly readiness: ReadinessService,
    @Inject(CONFIG) config: AttributionConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.graceMs = config.ATTRIBUTION_GRACE_SECONDS * 1000;
    // The wait runs inside a flush, which does not heartbeat: stay well inside the session timeout.
    this.stateWaitMs = Math.min(config.ATTRIBUTION_STATE_WAIT_MS, Math.floor(config.KAFKA_SESSION_TIMEOUT_MS / 2));
  }

  async onApplicationBootstrap(): Promise<void> {
    this.consumer = this.bus.consumer({
      groupId: `${SERVICE_NAME}.calls`,
      topics: ['screenedCalls'],
      fromBeginning: true,
      handle: async (record) => this.handle(record),
      flush: () => this.flush(),
    });
    this.readiness.register('call_consumer', () => this.consumer?.isReady() ?? false);
    await this.consumer.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.consumer?.stop();
  }

  private async handle(record: ConsumedRecord): Promise<void> {
    this.prepared = undefined;
    if (this.buffer.track(record)) this.logger.info({ event: 'abandoned_batch_dropped', consumer: 'calls' });
    if (record.event.type !== 'CallScreened') return;
    const event = record.event;
    // Throws NonRetriableError for a call that cannot be stored: it is dead-lettered, the batch goes on.
    const { call, callId, trackingNumber, startedAtMs } = checkScreenedCall(event);
    this.buffer.push({
      event,
      call,
      siteId: event.siteId,
      callId,
      trackingNumber,
      startedAtMs,
      version: callVersion(call),
      publishedAtMs: record.timestampMs || Date.now(),
      // Published later in flush(): keep this record's trace so the event continues it.
      traceContext: context.active(),
    });
  }

  private async flush(): Promise<void> {
    if (this.buffer.isEmpty) {
      this.buffer.clear();
      return;
    }
    this.prepared ??= await this.prepare(this.buffer.items);
    const { rows, outbox } = this.prepared;
    await this.store.write('calls', rows, this.buffer.token('calls', rows));
    await this.bus.producer.publishMany(outbox);
    this.logger.info({ event: 'calls_attributed', calls: rows.length, superseded: this.buffer.items.length - rows.length });
    this.prepared = undefined;
    this.buffer.clear();
  }

  private async prepare(items: readonly ScreenedCall[]): Promise<PreparedCalls> {
    // Older reports than what is stored (or accepted earlier in this batch) are dropped first.
    const starts = items.map((c) => c.startedAtMs);
    const stored = await this.store.storedCalls(items, Math.min(...starts) - 2 * DAY_MS, Math.max(...starts) + 2 * DAY_MS);
    const latest = new Map<string, StoredCallState>(stored);
    const accepted: Array<{ call: ScreenedCall; keyStartMs: number }> = [];
    for (const call of items) {
      const key = pairKey(call.siteId, call.callId);
      const known = latest.get(key);
      if (isSuperseded(call.version, known?.version)) {
        this.logger.info({ event: 'call_report_superseded', site_id: call.siteId, call_id: call.callId, version: call.version, stored_version: known?.version, event_id: call.event.eventId });
        continue;
      }
      // Every version of a call keeps the start of its first one (it is in the sorting key).
      const keyStartMs = known?.startedAtMs || call.startedAtMs;
      latest.set(key, { version: call.version, startedAtMs: keyStartMs });
      accepted.push({ call, keyStartMs });
    }

    const attributions = await this.attribute(accepted.map((a) => a.call));
    const rows: CallRow[] = [];
    const outbox: OutgoingRecord[] = [];
    accepted.forEach(({ call, keyStartMs }, i) => {
      const { decision, visit } = attributions[i]!;
      const attributed = createEvent(
        'CallAttributed',
        {
          ...originOf(decision, visit),
          call: call.call,
          verdict: call.event.payload.verdict,
          verdictReason: call.event.payload.reason,
          final: isFinalStatus(call.call.status),
        },
        { siteId: call.siteId, producer: SERVICE_NAME, eventId: `${call.event.eventId}:attributed`, causationId: call.event.eventId, occurredAtMs: call.event.occurredAtMs },
      );
      rows.push(callRow(attributed, call.version, keyStartMs));
      outbox.push({ topic: 'attributedCalls', key: callKey(call.siteId, call.callId), event: attributed, traceContext: call.traceContext });
    });
    return { rows, outbox };
  }

  /**
   * Decides each call's origin with one lease query and one visit query per round. Lease
   * and visit events travel on other topics, read by the state consumer: a call published
   * less than ATTRIBUTION_STATE_WAIT_MS ago whose decision could still improve (no lease,
   * no visit yet, or a lease past its expiry without a release) polls again until then.
   */
  private async attribute(calls: readonly ScreenedCall[]): Promise<Attribution[]> {
    const results: Attribution[] = new Array<Attribution>(calls.length);
    let pending = calls.map((_, i) => i);
    let rounds = 0;
    while (pending.length > 0) {
      rounds += 1;
      const batch = pending.map((i) => calls[i]!);
      const starts = batch.map((c) => c.startedAtMs);
      const leases = await this.store.leaseCandidates(batch, Math.min(...starts) - LEASE_LOOKBACK_MS, Math.max(...starts));
      const byNumber = new Map<string, LeaseCandidate[]>();
      for (const lease of leases) {
        const key = pairKey(lease.siteId, lease.trackingNumber);
        const list = byNumber.get(key);
        if (list) list.push(lease);
        else byNumber.set(key, [lease]);
      }
      const decisions = batch.map((c) =>
        decideMatch({
          trackingNumber: c.trackingNumber,
          callStartMs: c.startedAtMs,
          graceMs: this.graceMs,
          site: siteNumbers(this.sites.get(c.siteId)),
          leases: byNumber.get(pairKey(c.siteId, c.trackingNumber)) ?? [],
        }),
      );
      const matched = decisions.flatMap((d, j) => (d.method === 'dynamic' ? [{ siteId: batch[j]!.siteId, sessionId: d.lease.sessionId, grantedAtMs: d.lease.grantedAtMs }] : []));
      const granted = matched.map((m) => m.grantedAtMs);
      // A visit starts just before it asks for a number; a day either side covers clock skew.
      const visits = matched.length > 0 ? await this.store.visits(matched, Math.min(...granted) - DAY_MS, Math.max(...granted) + DAY_MS) : new Map<string, VisitSource>();

      const now = Date.now();
      const waiting: number[] = [];
      pending.forEach((index, j) => {
        const decision = decisions[j]!;
        const visit = decision.method === 'dynamic' ? visits.get(pairKey(batch[j]!.siteId, decision.lease.sessionId)) : undefined;
        results[index] = { decision, visit };
        if (mayImproveWithState(decision, visit) && now < calls[index]!.publishedAtMs + this.stateWaitMs) waiting.push(index);
      });
      pending = waiting;
      if (pending.length > 0) {
        const until = Math.min(...pending.map((i) => calls[i]!.publishedAtMs + this.stateWaitMs));
        await sleep(Math.max(10, Math.min(POLL_MS, until - now)));
      }
    }
    if (rounds > 1) this.logger.debug({ event: 'calls_waited_for_state', rounds, calls: calls.length });
    return results;
  }
}
