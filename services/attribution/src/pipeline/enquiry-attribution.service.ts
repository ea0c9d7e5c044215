import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { calltrack, type DomainEvent } from '@calltrack/contracts';
import { KafkaBus, NonRetriableError, type BatchConsumer, type ConsumedRecord } from '@calltrack/kafka';
import { CONFIG, LOGGER, ReadinessService } from '@calltrack/service-kit';
import type { Logger } from '@calltrack/telemetry';
import { AttributionSettingsService } from '../settings/attribution-settings.service.js';
import type { SiteSettings } from '../settings/attribution-settings.js';
import { AttributionStore } from '../store/attribution-store.js';
import { BatchBuffer } from '../consumers/batch-buffer.js';
import type { TouchCredit } from '../models/call-credits.js';
import type { PlannedCall } from './call-evaluation.js';
import { CallEvaluationService } from './call-evaluation.service.js';
import { CallLookups } from '../store/call-lookups.js';
import { SERVICE_NAME, type AttributionConfig } from '../config.js';
import {
  creditsForEnquiry,
  evaluateEnquiries,
  planEnquiryWrites,
  type EnquiryReport,
  type EvaluatedEnquiry,
  type PlannedEnquiry,
} from './enquiry-evaluation.js';
import { EnquiryLookups } from '../store/enquiry-lookups.js';
import { chunksOf } from '../consumers/chunks.js';
import { LeadProjection } from '../leads/lead-projection.js';
import { MarkovModelService } from '../models/markov-model.service.js';
import { type EnquiryRow, enquiryConversionId } from '../store/rows.js';
import type { MatchedContact } from '../leads/lead-grouping.js';

const { EnquiryKind } = calltrack.events.v1;
const DAY_MS = 86_400_000;
const POLL_MS = 250;
/** Rounds of "contacts that depend on contacts just written" followed in one go. */
const MAX_DEPENDENT_ROUNDS = 3;
const pairKey = (siteId: string, id: string): string => `${siteId}\n${id}`;
const unique = <T>(values: readonly T[]): T[] => [...new Set(values)];
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const digest = (keys: readonly string[]): string => createHash('sha256').update(keys.join('\n')).digest('hex').slice(0, 24);

const KIND_NAMES: Readonly<Record<number, string>> = {
  [EnquiryKind.ENQUIRY_KIND_FORM]: 'form',
  [EnquiryKind.ENQUIRY_KIND_CALLBACK_REQUEST]: 'callback_request',
  [EnquiryKind.ENQUIRY_KIND_CHAT]: 'chat',
  [EnquiryKind.ENQUIRY_KIND_OTHER]: 'other',
};

/** The report an EnquiryReceived carries; throws NonRetriableError (dead letter) for one that cannot be stored. */
export function enquiryReportOf(event: DomainEvent<'EnquiryReceived'>): EnquiryReport {
  const p = event.payload;
  const enquiryId = p.enquiryId ?? '';
  if (!/^[\x21-\x7e]{1,128}$/.test(enquiryId)) throw new NonRetriableError('EnquiryReceived without a valid enquiry_id');
  const occurredAtMs = Number(p.occurredAtMs) || 0;
  if (occurredAtMs <= 0) throw new NonRetriableError(`enquiry ${enquiryId} has no occurred_at_ms`);
  const kind = KIND_NAMES[p.kind ?? 0];
  if (!kind) throw new NonRetriableError(`enquiry ${enquiryId} has no kind`);
  return {
    siteId: event.siteId,
    enquiryId,
    eventId: event.eventId,
    kind,
    occurredAtMs,
    receivedAtMs: Number(p.receivedAtMs) || occurredAtMs,
    givenSessionId: p.sessionId ?? '',
    givenVisitorId: p.visitorId ?? '',
    phone: p.contactPhone ?? '',
    email: p.contactEmail ?? '',
    name: p.contactName ?? '',
    message: p.message ?? '',
    pageUrl: p.pageUrl ?? '',
    customFields: { ...(p.customFields ?? {}) },
  };
}

/** The report a stored row holds, to evaluate it again. */
export function enquiryReportOfRow(row: EnquiryRow): EnquiryReport {
  return {
    siteId: row.site_id,
    enquiryId: row.enquiry_id,
    eventId: row.event_id,
    kind: row.kind,
    occurredAtMs: Date.parse(row.occurred_at),
    receivedAtMs: Date.parse(row.received_at),
    givenSessionId: row.given_session_id,
    givenVisitorId: row.given_visitor_id,
    phone: row.contact_phone,
    email: row.contact_email,
    name: row.contact_name,
    message: row.message,
    pageUrl: row.page_url,
    customFields: { ...row.custom_fields },
  };
}

/**
 * Attributes enquiries (docs/enquiries.md): the live consumer of the enquiries topic,
 * evaluation (enquiry-evaluation.ts) against ClickHouse, the `enquiries` and
 * `attribution_credits` rows, the leads projection, and the contacts whose lead or
 * contact type depends on what was written — later enquiries and calls of the same
 * phone or visitor, in either direction. Shares the calls' evaluation lock, so one
 * person's contacts are never evaluated by two writers of this process at once.
 */
@Injectable()
export class EnquiryAttributionService implements OnApplicationBootstrap, OnModuleDestroy {
  private consumer: BatchConsumer | undefined;
  // The heartbeat of the batch being handled: the flush heartbeats between its chunks.
  private heartbeat: (() => Promise<void>) | undefined;
  private readonly buffer = new BatchBuffer<{ report: EnquiryReport; publishedAtMs: number }>();
  // Chunks of the batch being flushed that are durable (a retried flush goes on from there).
  private chunksDone = 0;
  private readonly chunkSize: number;
  private readonly stateWaitMs: number;
  private depth = 0;

  constructor(
    private readonly bus: KafkaBus,
    private readonly store: AttributionStore,
    private readonly calls: CallEvaluationService,
    private readonly callLookups: CallLookups,
    private readonly lookups: EnquiryLookups,
    private readonly leads: LeadProjection,
    private readonly settings: AttributionSettingsService,
    private readonly markov: MarkovModelService,
    private readonly readiness: ReadinessService,
    @Inject(CONFIG) config: AttributionConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.stateWaitMs = Math.min(config.ATTRIBUTION_STATE_WAIT_MS, Math.floor(config.KAFKA_SESSION_TIMEOUT_MS / 2));
    this.chunkSize = config.ATTRIBUTION_CALL_CHUNK;
  }

  async onApplicationBootstrap(): Promise<void> {
    // Calls written anywhere (live, dependents, sweeps, recompute) update their leads and the enquiries after them.
    this.calls.onCommitted((plans) => this.afterCalls(plans));
    this.consumer = this.bus.consumer({
      groupId: `${SERVICE_NAME}.enquiries`,
      topics: ['enquiries'],
      fromBeginning: true,
      handle: async (record) => this.handle(record),
      flush: () => this.flush(),
    });
    this.readiness.register('enquiry_consumer', () => this.consumer?.isReady() ?? false);
    await this.consumer.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.consumer?.stop();
  }

  private async handle(record: ConsumedRecord): Promise<void> {
    this.heartbeat = record.heartbeat;
    this.chunksDone = 0;
    if (this.buffer.track(record)) this.logger.info({ event: 'abandoned_batch_dropped', consumer: 'enquiries' });
    if (record.event.type !== 'EnquiryReceived') return;
    this.buffer.push({ report: enquiryReportOf(record.event as DomainEvent<'EnquiryReceived'>), publishedAtMs: record.timestampMs || Date.now() });
  }

  private async flush(): Promise<void> {
    if (this.buffer.isEmpty) {
      this.buffer.clear();
      return;
    }
    // A site's retry of the same enquiry in one batch: the first one counts.
    const seen = new Set<string>();
    const items = this.buffer.items.filter((i) => {
      const key = pairKey(i.report.siteId, i.report.enquiryId);
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
    // A backlog's batch is evaluated and written in chunks, heartbeating between them (as the calls' consumer does);
    // within a chunk the batch consumer heartbeats on the flush's behalf.
    const chunks = chunksOf(items, this.chunkSize);
    const heartbeat = this.heartbeat;
    while (this.chunksDone < chunks.length) {
      const chunk = chunks[this.chunksDone]!;
      await this.waitForVisits(chunk);
      const plans = await this.calls.exclusive(async () => {
        const planned = await this.plan(
          chunk.map((i) => i.report),
          'report',
        );
        await this.commit(planned, this.buffer.token(`enquiries:${this.chunksDone}`, []));
        return planned;
      });
      this.logger.info({
        event: 'enquiries_attributed',
        enquiries: plans.length,
        duplicates: chunk.length - plans.length,
        chunk: this.chunksDone + 1,
        chunks: chunks.length,
      });
      this.chunksDone += 1;
      // Throws when the group is rebalancing: the batch stops between chunks, uncommitted, and is redone (idempotently).
      if (heartbeat && this.chunksDone < chunks.length) await heartbeat();
    }
    this.chunksDone = 0;
    this.buffer.clear();
  }

  /** The tracker's session usually reaches ClickHouse first; a fresh enquiry naming one not stored yet waits for it a little. */
  private async waitForVisits(items: ReadonlyArray<{ report: EnquiryReport; publishedAtMs: number }>): Promise<void> {
    let pending = items.filter((i) => i.report.givenSessionId && Date.now() < i.publishedAtMs + this.stateWaitMs);
    while (pending.length > 0) {
      const at = pending.map((i) => i.report.occurredAtMs);
      const found = await this.store.visits(
        pending.map((i) => ({ siteId: i.report.siteId, sessionId: i.report.givenSessionId })),
        Math.min(...at) - 180 * DAY_MS,
        Math.max(...at) + DAY_MS,
      );
      const now = Date.now();
      pending = pending.filter((i) => !found.has(pairKey(i.report.siteId, i.report.givenSessionId)) && now < i.publishedAtMs + this.stateWaitMs);
      if (pending.length > 0) await sleep(POLL_MS);
    }
  }

  /** Evaluates enquiries (new, or stored ones again) and plans what to write. Reads only. */
  async plan(
    reports: readonly EnquiryReport[],
    mode: 'report' | 'reevaluate',
    options: { settings?: ReadonlyMap<string, SiteSettings> } = {},
  ): Promise<PlannedEnquiry[]> {
    if (reports.length === 0) return [];
    await this.settings.loaded;
    const settingsOf = (siteId: string): SiteSettings => options.settings?.get(siteId) ?? this.settings.get(siteId);
    const siteIds = unique(reports.map((r) => r.siteId));
    const widest = (f: (s: SiteSettings) => number): number => Math.max(...siteIds.map((id) => f(settingsOf(id))));
    const lookbackMs = widest((s) => s.lookbackDays) * DAY_MS;
    const earlierMs = widest((s) => Math.max(s.lookbackDays, s.repeatCallerWindowDays, s.leadWindowDays)) * DAY_MS;
    const at = reports.map((r) => r.occurredAtMs);
    const [minAt, maxAt] = [Math.min(...at), Math.max(...at)];
    const evaluating = new Set(reports.map((r) => pairKey(r.siteId, enquiryConversionId(r.enquiryId))));

    const [stored, sessionVisits] = await Promise.all([
      this.lookups.stored(
        reports.map((r) => ({ siteId: r.siteId, enquiryId: r.enquiryId })),
        minAt,
        maxAt,
      ),
      this.store.visits(
        reports.filter((r) => r.givenSessionId).map((r) => ({ siteId: r.siteId, sessionId: r.givenSessionId })),
        minAt - lookbackMs,
        maxAt + DAY_MS,
      ),
    ]);
    const visitors = unique([...reports.map((r) => r.givenVisitorId), ...[...sessionVisits.values()].map((v) => v.visitorId)].filter((v) => v));
    const [visitorVisits, contactList] = await Promise.all([
      this.lookups.visitorVisits(
        reports.flatMap((r) => visitors.map((v) => ({ siteId: r.siteId, visitorId: v }))),
        minAt - lookbackMs,
        maxAt + 60_000,
      ),
      this.lookups.contacts(
        siteIds,
        reports.map((r) => r.phone),
        visitors,
        minAt - earlierMs,
        maxAt,
      ),
    ]);
    const contacts = new Map<string, MatchedContact[]>();
    for (const c of contactList) {
      if (evaluating.has(pairKey(c.siteId, c.id))) continue;
      const list = contacts.get(c.siteId) ?? [];
      list.push(c);
      contacts.set(c.siteId, list);
    }

    const evaluated = evaluateEnquiries(reports, {
      settings: settingsOf,
      sessionVisit: (siteId, sessionId) => sessionVisits.get(pairKey(siteId, sessionId)),
      visitorVisits: (siteId, visitorId) => visitorVisits.get(pairKey(siteId, visitorId)) ?? [],
      contacts: (siteId) => contacts.get(siteId) ?? [],
    });
    const matched = evaluated.filter((e) => e.matchedTouch);
    const touches = await this.callLookups.visitorTouches(
      matched.map((e) => ({ siteId: e.report.siteId, visitorId: e.matchedTouch!.visitorId })),
      minAt - lookbackMs,
      maxAt,
    );
    const shares = new Map<string, ReadonlyMap<string, number>>();
    for (const id of siteIds) shares.set(id, await this.markov.shares(id));
    const credits = new Map<EvaluatedEnquiry, TouchCredit[]>(
      evaluated.map((e) => [
        e,
        e.matchedTouch ? creditsForEnquiry(e, touches.get(pairKey(e.report.siteId, e.matchedTouch.visitorId)) ?? [], shares.get(e.report.siteId)!) : [],
      ]),
    );
    return planEnquiryWrites(evaluated, credits, stored, mode);
  }

  /** Writes planned enquiries and credits, projects their leads, then follows the contacts that depend on them. Inside exclusive(). */
  async commit(plans: readonly PlannedEnquiry[], label: string): Promise<void> {
    if (plans.length === 0) return;
    const rows = plans.map((p) => p.row);
    const credits = plans.flatMap((p) => p.credits);
    await this.store.write('enquiries', rows, `${label}:enquiries:${digest(rows.map((r) => `${r.site_id} ${r.enquiry_id} ${r.version}`))}`);
    await this.store.write(
      'attribution_credits',
      credits,
      `${label}:enquiry-credits:${digest(credits.map((c) => `${c.site_id} ${c.call_id} ${c.model} ${c.session_id} ${c.version} ${c.is_deleted}`))}`,
    );
    await this.leads.project(
      plans.flatMap((p) => [
        { siteId: p.row.site_id, leadId: p.row.lead_id },
        { siteId: p.row.site_id, leadId: p.previousLeadId },
      ]),
    );
    await this.followDependents(
      rows.map((r) => ({
        siteId: r.site_id,
        phone: r.contact_phone,
        visitorId: r.visitor_id || r.given_visitor_id,
        atMs: Date.parse(r.occurred_at),
        id: enquiryConversionId(r.enquiry_id),
      })),
    );
  }

  /** After calls were written (inside the calls' exclusive section): their leads, and the enquiries after them. */
  private async afterCalls(plans: readonly PlannedCall[]): Promise<void> {
    const inbound = plans.filter((p) => p.row.direction !== 'outbound');
    if (inbound.length === 0) return;
    await this.leads.project(
      inbound.flatMap((p) => [
        { siteId: p.row.site_id, leadId: p.row.lead_id },
        { siteId: p.row.site_id, leadId: p.previousLeadId },
      ]),
    );
    await this.followDependents(
      inbound.map((p) => ({
        siteId: p.row.site_id,
        phone: p.row.caller_number,
        visitorId: p.row.visitor_id,
        atMs: Date.parse(p.row.started_at ?? '') || 0,
        id: p.row.call_id,
      })),
      { callsToo: false },
    );
  }

  /**
   * Evaluates again the stored contacts after the ones just written, of the same phone
   * or visitor, within the widest lead / repeat window: later enquiries always, later calls
   * when enquiries were written (calls follow their own callers already). Bounded rounds;
   * contacts normally arrive in order, so this finds nothing and repairs a late one.
   */
  private async followDependents(
    written: ReadonlyArray<{ siteId: string; phone: string; visitorId: string; atMs: number; id: string }>,
    opts: { callsToo?: boolean } = {},
  ): Promise<void> {
    const people = written.filter((w) => w.phone || w.visitorId);
    if (people.length === 0 || this.depth >= MAX_DEPENDENT_ROUNDS) return;
    this.depth += 1;
    try {
      const siteIds = unique(people.map((w) => w.siteId));
      const laterMs = Math.max(...siteIds.map((id) => this.settings.get(id)).map((s) => Math.max(s.repeatCallerWindowDays, s.leadWindowDays))) * DAY_MS;
      const minAt = Math.min(...people.map((w) => w.atMs));
      const maxAt = Math.max(...people.map((w) => w.atMs)) + laterMs;
      const writtenIds = new Set(written.map((w) => pairKey(w.siteId, w.id)));
      const isLater = (siteId: string, phone: string, visitorId: string, atMs: number, id: string): boolean =>
        !writtenIds.has(pairKey(siteId, id)) &&
        people.some(
          (w) =>
            w.siteId === siteId &&
            ((w.phone && w.phone === phone) || (w.visitorId && w.visitorId === visitorId)) &&
            (w.atMs < atMs || (w.atMs === atMs && w.id < id)),
        );

      const laterEnquiries = (
        await this.lookups.enquiriesOfPeople(
          siteIds,
          people.map((w) => w.phone),
          people.map((w) => w.visitorId),
          minAt,
          maxAt,
        )
      ).filter((r) => isLater(r.site_id, r.contact_phone, r.visitor_id || r.given_visitor_id, Date.parse(r.occurred_at), enquiryConversionId(r.enquiry_id)));
      if (laterEnquiries.length > 0) {
        const plans = await this.plan(laterEnquiries.map(enquiryReportOfRow), 'reevaluate');
        await this.commit(plans, 'enquiry-dependents');
        if (plans.length > 0) this.logger.info({ event: 'dependent_enquiries_reevaluated', enquiries: plans.length });
      }
      if (opts.callsToo === false) return;
      const contacts = await this.lookups.contacts(
        siteIds,
        people.map((w) => w.phone),
        people.map((w) => w.visitorId),
        minAt,
        maxAt,
      );
      const laterCalls = contacts.filter((c) => c.kind === 'call' && isLater(c.siteId, c.phone, c.visitorId, c.atMs, c.id));
      if (laterCalls.length > 0) {
        const keys = laterCalls.map((c) => ({ siteId: c.siteId, callId: c.id }));
        const rows = await this.callLookups.storedRows(keys, Math.min(...laterCalls.map((c) => c.atMs)), Math.max(...laterCalls.map((c) => c.atMs)));
        const plans = await this.calls.plan({ mode: 'reevaluate', rows: [...rows.values()] });
        // commit() runs the calls' listeners: their leads and the enquiries after them.
        await this.calls.commit(plans, 'enquiry-dependents');
        if (plans.length > 0) this.logger.info({ event: 'dependent_calls_reevaluated', calls: plans.length, reason: 'enquiry' });
      }
    } finally {
      this.depth -= 1;
    }
  }

  /**
   * Evaluates a site's enquiries in [fromMs, toMs) again under `settings` (a recompute pins
   * the revision it runs under); returns how many were read and how many got a new version.
   */
  async reevaluateBetween(siteId: string, fromMs: number, toMs: number, settings?: SiteSettings): Promise<{ enquiries: number; changed: number }> {
    const to = Math.min(toMs, Date.UTC(2200, 0, 1));
    return this.calls.exclusive(async () => {
      const rows = await this.lookups.enquiries(
        `site_id = {site:String} AND occurred_at >= fromUnixTimestamp64Milli({from:Int64}, 'UTC') AND occurred_at < fromUnixTimestamp64Milli({to:Int64}, 'UTC')`,
        { site: siteId, from: fromMs, to },
        'ORDER BY occurred_at, enquiry_id',
      );
      const plans = await this.plan(rows.map(enquiryReportOfRow), 'reevaluate', settings ? { settings: new Map([[siteId, settings]]) } : {});
      await this.commit(plans, `recompute:${siteId}:enquiries:${fromMs}`);
      return { enquiries: rows.length, changed: plans.length };
    });
  }
}
