import { Inject, Injectable } from '@nestjs/common';
import { calltrack } from '@calltrack/contracts';
import { KafkaBus } from '@calltrack/kafka';
import { CONFIG, LOGGER, SiteDirectory } from '@calltrack/service-kit';
import type { Context, Logger } from '@calltrack/telemetry';
import type { AttributionConfig } from '../config.js';
import { LeadProjection } from '../leads/lead-projection.js';
import { PROMO_TIME_TOLERANCE_MS, type Redemption, type SiteNumbers, type VisitSource } from '../matching/call-matching.js';
import type { LearntWeights } from '../models/attribution-models.js';
import { MarkovModelService } from '../models/markov-model.service.js';
import { AttributionSettingsService } from '../settings/attribution-settings.service.js';
import type { SiteSettings } from '../settings/attribution-settings.js';
import { AttributionStore } from '../store/attribution-store.js';
import { CallLookups } from '../store/call-lookups.js';
import { EnquiryLookups } from '../store/enquiry-lookups.js';
import { enquiryConversionId, type CallRow } from '../store/rows.js';
import { validTimeZone } from '../classification/working-hours.js';
import {
  evaluateCalls,
  planWrites,
  reportOfRow,
  type CallReport,
  type EvaluatedCall,
  type MatchedReport,
  type PlannedCall,
  type SiteFacts,
} from './call-evaluation.js';
import { commitCalls } from './calls/commit-calls.js';
import { creditCalls } from './calls/credit-calls.js';
import { decideMatches } from './calls/decide-matches.js';
import { findDependentCalls } from './calls/find-dependent-calls.js';
import { findPersonContacts } from './calls/find-person-contacts.js';
import { keepNewestReports } from './calls/keep-newest-reports.js';
import { callBatchOf, loadCallFacts, type CallBatch, type CallFacts } from './calls/load-call-facts.js';
import { loadVisits } from './calls/load-visits.js';
import { stateWaitFor, type FreshReport } from './calls/wait-for-state.js';
import { EvaluationLock } from './evaluation-lock.js';
import { commitEnquiries } from './enquiries/commit-enquiries.js';
import { findLaterCalls, findLaterEnquiries, laterContactsQuery, type WrittenContact } from './enquiries/find-later-contacts.js';
import { planEnquiries } from './enquiries/plan-enquiries.js';
import { enquiryReportOfRow } from './enquiries/read-enquiry-report.js';
import type { PlannedEnquiry } from './enquiry-evaluation.js';

const DAY_MS = 86_400_000;
/** Rounds of "calls that depend on calls just written" followed in one go. */
const MAX_DEPENDENT_ROUNDS = 6;
/** Nested rounds of "contacts after contacts just written" (calls ↔ enquiries) followed in one go. */
const MAX_CONTACT_ROUNDS = 3;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const pairKey = (siteId: string, id: string): string => `${siteId}\n${id}`;

export type { FreshReport };

/** What the pipeline made of a chunk of new reports. */
export interface AttributedCalls {
  /** The calls written (a redelivered report is written again under the stored version). */
  plans: PlannedCall[];
  /** Reports older than the stored state of their call: dropped, nothing written. */
  dropped: number;
  /** How many times the match was decided (more than once when state in flight was waited for). */
  attempts: number;
}

/** Options of a re-evaluation: a recompute pins the settings and Markov shares it learnt, and the time call-back windows are judged at. */
export interface ReevaluationOptions {
  nowMs?: number;
  markov?: ReadonlyMap<string, LearntWeights>;
  settings?: ReadonlyMap<string, SiteSettings>;
}

/** The batch of calls with their match decided and visits loaded: what the rest of the pipeline carries. */
interface DecidedCalls {
  batch: CallBatch;
  facts: CallFacts;
  matched: MatchedReport[];
  visits: Map<string, VisitSource>;
}

export function siteNumbersOf(site: calltrack.events.v1.ISiteConfigured | undefined): SiteNumbers | undefined {
  if (!site) return undefined;
  return {
    defaultNumber: site.defaultNumber ?? '',
    poolNumbers: site.poolNumbers ?? [],
    staticNumbers: (site.staticNumbers ?? []).map((s) => ({
      number: s.number ?? '',
      utmSource: s.utmSource ?? '',
      utmMedium: s.utmMedium ?? '',
      utmCampaign: s.utmCampaign ?? '',
      channel: s.channel ?? '',
      label: s.label ?? '',
    })),
  };
}

/**
 * The call pipeline: the steps a call goes through, in order, for a new provider report
 * (attributeReports) and for a stored call evaluated again (reevaluate: a promo code
 * redeemed, a call-back window passed, a recompute, a contact written before it).
 *
 *    1. keep the newest report of each call      7. credit under each model
 *    2. load the facts                           8. plan the writes
 *    3. decide the match (once: the steps after  9. commit
 *       carry it)                                10. project the leads
 *    4. load the visits it credits               11. follow the enquiries after the calls
 *    5. wait for state                           12. follow the dependent calls
 *    6. classify and group into leads
 *
 * Every step is a function in pipeline/calls/ (or pipeline/enquiries/); the pure core is
 * decideMatches + evaluateCalls (evaluate.ts). Everything that writes calls runs through
 * the evaluation lock, so the versions of one call never race in this process.
 */
@Injectable()
export class CallPipeline {
  private readonly graceMs: number;
  private readonly stateWaitMs: number;
  // The plans of a chunk whose commit failed, by the chunk's label: a retry writes and publishes exactly what the first attempt planned.
  private pending: { label: string; plans: PlannedCall[] } | undefined;
  private contactDepth = 0;

  constructor(
    private readonly bus: KafkaBus,
    private readonly store: AttributionStore,
    private readonly lookups: CallLookups,
    private readonly enquiryLookups: EnquiryLookups,
    private readonly sites: SiteDirectory,
    private readonly settings: AttributionSettingsService,
    private readonly markov: MarkovModelService,
    private readonly leads: LeadProjection,
    private readonly lock: EvaluationLock,
    @Inject(CONFIG) config: AttributionConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.graceMs = config.ATTRIBUTION_GRACE_SECONDS * 1000;
    // Kept well inside the session timeout, though the flush heartbeats while it waits.
    this.stateWaitMs = Math.min(config.ATTRIBUTION_STATE_WAIT_MS, Math.floor(config.KAFKA_SESSION_TIMEOUT_MS / 2));
  }

  /**
   * New provider reports (one chunk of the live consumer's batch), through every step. The
   * match is decided inside the evaluation lock, with what ClickHouse holds at that moment;
   * when a fresh call's state may still be in flight, the lock is let go for a moment and the
   * match decided again (wait for state): nothing is written until it stands.
   */
  async attributeReports(fresh: readonly FreshReport[], label: string, traces?: ReadonlyMap<string, Context>): Promise<AttributedCalls> {
    await this.settings.loaded;
    for (let attempts = 1; ; attempts += 1) {
      const outcome = await this.lock.exclusive(() => this.attributeOnce(fresh, label, traces));
      if (!('waitMs' in outcome)) {
        if (attempts > 1) this.logger.debug({ event: 'calls_waited_for_state', rounds: attempts, calls: fresh.length });
        return { ...outcome, attempts };
      }
      await sleep(outcome.waitMs);
    }
  }

  /** One pass of the call pipeline over new reports, inside the evaluation lock. */
  private async attributeOnce(
    fresh: readonly FreshReport[],
    label: string,
    traces: ReadonlyMap<string, Context> | undefined,
  ): Promise<Omit<AttributedCalls, 'attempts'> | { waitMs: number }> {
    // A chunk whose commit failed is retried with exactly the rows and events it planned.
    let plans = this.pending?.label === label ? this.pending.plans : undefined;
    let dropped = 0;
    if (!plans) {
      // 1. Keep the newest report of each call: an older one is dropped.
      const newest = await keepNewestReports(
        this.lookups,
        fresh.map((f) => f.report),
      );
      for (const d of newest.dropped) this.logSuperseded(d.report, d.storedVersion);
      dropped = newest.dropped.length;
      // 2-4. Load the facts → decide the match (once) → load the visits it credits.
      const decided = await this.decideAndLoadVisits(newest.reports, newest.storedRows, {});
      // 5. Wait for state: a fresh call whose lease or visit may still be in flight is decided again shortly.
      const waitMs = decided ? stateWaitFor(fresh, decided.matched, decided.visits, this.stateWaitMs, Date.now()) : 0;
      if (waitMs > 0) return { waitMs };
      // 6-8. Classify and group into leads → credit under each model → plan the writes.
      plans = decided ? await this.evaluateAndPlan(decided, 'report', {}) : [];
      this.pending = { label, plans };
    }
    // 9. Commit (rows, credits, CallAttributed).
    await commitCalls({ store: this.store, bus: this.bus }, plans, label, traces);
    // 10. Project the leads the calls joined and left.
    await this.projectLeads(plans);
    // 11. Follow the enquiries after the calls (their lead or contact type may change).
    await this.followEnquiriesAfter(plans);
    // 12. Follow the dependent calls.
    await this.followDependentCalls(plans);
    this.pending = undefined;
    return { plans, dropped };
  }

  /** Evaluates stored calls again (sweeps, redemptions) and writes what changed, with everything that follows from it. */
  async reevaluate(rows: () => Promise<readonly CallRow[]>, label: string): Promise<PlannedCall[]> {
    return this.lock.exclusive(async () => {
      const fresh = await rows();
      if (fresh.length === 0) return [];
      const plans = await this.planStored(fresh, {});
      await this.commit(plans, label);
      await this.followDependentCalls(plans);
      if (plans.length > 0) this.logger.info({ event: 'calls_reevaluated', reason: label, calls: fresh.length, changed: plans.length });
      return plans;
    });
  }

  /** Re-attributes the stored calls that promo-code redemptions name. */
  reevaluateRedeemed(redemptions: readonly Redemption[]): Promise<PlannedCall[]> {
    return this.reevaluate(() => this.lookups.callsNamedBy(redemptions, PROMO_TIME_TOLERANCE_MS), 'promo_redemption');
  }

  /**
   * A page of a recompute: stored calls evaluated again under pinned settings and shares, and
   * written with their leads and the enquiries after them (a recompute goes through every call
   * of the site in order, so it follows no dependent calls). Inside the evaluation lock.
   */
  async recomputeStored(rows: readonly CallRow[], label: string, options: ReevaluationOptions): Promise<PlannedCall[]> {
    const plans = await this.planStored(rows, options);
    await this.commit(plans, label);
    return plans;
  }

  /**
   * After contacts were written (inside the evaluation lock): the stored enquiries after them
   * of the same phone or visitor, evaluated again, written and followed in turn; and, when
   * enquiries were written (`callsToo`), the calls after them too — calls follow their own
   * callers already. Bounded nesting; contacts normally arrive in order, so this finds
   * nothing and repairs a late one.
   */
  async followContacts(written: readonly WrittenContact[], opts: { callsToo: boolean }): Promise<void> {
    const q = laterContactsQuery(written, (id) => this.settings.get(id));
    if (!q || this.contactDepth >= MAX_CONTACT_ROUNDS) return;
    this.contactDepth += 1;
    try {
      const laterEnquiries = await findLaterEnquiries(this.enquiryLookups, q);
      if (laterEnquiries.length > 0) {
        const plans = await this.planEnquiries(laterEnquiries.map(enquiryReportOfRow), 'reevaluate');
        await this.commitEnquiries(plans, 'enquiry-dependents');
        if (plans.length > 0) this.logger.info({ event: 'dependent_enquiries_reevaluated', enquiries: plans.length });
      }
      if (!opts.callsToo) return;
      const laterCalls = await findLaterCalls({ lookups: this.enquiryLookups, callLookups: this.lookups }, q);
      if (laterCalls.length > 0) {
        const plans = await this.planStored(laterCalls, {});
        await this.commit(plans, 'enquiry-dependents');
        if (plans.length > 0) this.logger.info({ event: 'dependent_calls_reevaluated', calls: plans.length, reason: 'enquiry' });
      }
    } finally {
      this.contactDepth -= 1;
    }
  }

  /** Evaluates enquiries (new, or stored ones again) and plans what to write. Reads only. */
  planEnquiries(
    reports: Parameters<typeof planEnquiries>[1],
    mode: 'report' | 'reevaluate',
    settings?: ReadonlyMap<string, SiteSettings>,
  ): Promise<PlannedEnquiry[]> {
    const io = { store: this.store, lookups: this.enquiryLookups, callLookups: this.lookups, markov: this.markov };
    return planEnquiries(io, reports, mode, (id) => settings?.get(id) ?? this.settings.get(id));
  }

  /** Writes enquiries, projects their leads and follows the contacts after them (inside the evaluation lock). */
  async commitEnquiries(plans: readonly PlannedEnquiry[], label: string): Promise<void> {
    if (plans.length === 0) return;
    await commitEnquiries(this.store, plans, label);
    await this.leads.project(
      plans.flatMap((p) => [
        { siteId: p.row.site_id, leadId: p.row.lead_id },
        { siteId: p.row.site_id, leadId: p.previousLeadId },
      ]),
    );
    await this.followContacts(
      plans.map((p) => ({
        siteId: p.row.site_id,
        phone: p.row.contact_phone,
        visitorId: p.row.visitor_id || p.row.given_visitor_id,
        atMs: Date.parse(p.row.occurred_at),
        id: enquiryConversionId(p.row.enquiry_id),
      })),
      { callsToo: true },
    );
  }

  // ---- the steps ----

  /** Load the facts → decide the match (once) → load the visits it credits. */
  private async decideAndLoadVisits(
    reports: readonly CallReport[],
    storedRows: ReadonlyMap<string, CallRow>,
    options: ReevaluationOptions,
  ): Promise<DecidedCalls | undefined> {
    if (reports.length === 0) return undefined;
    const batch = callBatchOf(reports, (id) => options.settings?.get(id) ?? this.settings.get(id));
    const facts = await loadCallFacts({ store: this.store, lookups: this.lookups }, batch, storedRows, {
      nowMs: options.nowMs ?? Date.now(),
      graceMs: this.graceMs,
      site: (id) => this.siteFacts(id),
    });
    const matched = decideMatches(reports, facts);
    const visits = await loadVisits(this.store, matched);
    return { batch, facts, matched, visits };
  }

  /** Classify and group into leads → credit under each model → plan the writes. Reads only. */
  private async evaluateAndPlan(decided: DecidedCalls, mode: 'report' | 'reevaluate', options: ReevaluationOptions): Promise<PlannedCall[]> {
    const evaluated = await this.classifyAndGroupIntoLeads(decided);
    const credits = await creditCalls({ lookups: this.lookups, markov: this.markov }, decided.batch, evaluated, options.markov);
    return planWrites(evaluated, credits, decided.facts.stored, mode);
  }

  /** Stored rows evaluated again: decide → load visits → classify and group → credit → plan. */
  private async planStored(rows: readonly CallRow[], options: ReevaluationOptions): Promise<PlannedCall[]> {
    await this.settings.loaded;
    const storedRows = new Map(rows.map((r) => [pairKey(r.site_id, r.call_id), r]));
    const decided = await this.decideAndLoadVisits([...storedRows.values()].map(reportOfRow), storedRows, options);
    return decided ? this.evaluateAndPlan(decided, 'reevaluate', options) : [];
  }

  /**
   * Classification and leads in call order (a call's lead depends on the calls before it), over
   * the stored contacts of the people on the line: enquiries and calls of the callers and of the
   * visitors the calls are matched to, so a call joins the lead of the same person's form or call before it.
   */
  private async classifyAndGroupIntoLeads({ batch, facts, matched, visits }: DecidedCalls): Promise<EvaluatedCall[]> {
    const lookups = { ...facts, visit: (siteId: string, sessionId: string) => visits.get(pairKey(siteId, sessionId)) };
    const inbound = batch.reports.filter((r) => r.call.direction !== calltrack.events.v1.CallDirection.CALL_DIRECTION_OUTBOUND);
    const contacts = await findPersonContacts(this.enquiryLookups, matched, lookups, {
      people: {
        siteIds: batch.siteIds,
        phones: inbound.map((r) => r.call.callerNumber ?? ''),
        visitors: [...facts.leaseList.map((l) => l.visitorId), ...facts.redemptions.map((r) => r.visitorId), ...facts.history.map((h) => h.visitorId)],
      },
      fromMs: batch.minStartMs - batch.widestMs((s) => s.leadWindowDays, DAY_MS),
      toMs: batch.maxStartMs,
      evaluating: batch.evaluating,
      history: facts.history,
    });
    return evaluateCalls(matched, { ...lookups, personContacts: (siteId) => contacts.get(siteId) ?? [] });
  }

  /** Commit → project the leads → follow the enquiries after the calls: what every write of calls is followed by. */
  private async commit(plans: readonly PlannedCall[], label: string): Promise<void> {
    await commitCalls({ store: this.store, bus: this.bus }, plans, label);
    await this.projectLeads(plans);
    await this.followEnquiriesAfter(plans);
  }

  /** The `leads` rows of the leads inbound calls joined and left, computed again from their members. */
  private async projectLeads(plans: readonly PlannedCall[]): Promise<void> {
    const inbound = plans.filter((p) => p.row.direction !== 'outbound');
    if (inbound.length === 0) return;
    await this.leads.project(
      inbound.flatMap((p) => [
        { siteId: p.row.site_id, leadId: p.row.lead_id },
        { siteId: p.row.site_id, leadId: p.previousLeadId },
      ]),
    );
  }

  /** The enquiries after inbound calls just written, of the same phone or visitor (calls follow their own callers: followDependentCalls). */
  private async followEnquiriesAfter(plans: readonly PlannedCall[]): Promise<void> {
    const inbound = plans.filter((p) => p.row.direction !== 'outbound');
    if (inbound.length === 0) return;
    await this.followContacts(
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
   * Follow the dependent calls: evaluates again, until nothing changes (at most
   * MAX_DEPENDENT_ROUNDS rounds), the stored calls that depend on calls just written
   * (find-dependent-calls.ts). Calls normally arrive in order, so this finds nothing; it
   * repairs a late or re-evaluated one.
   */
  private async followDependentCalls(plans: readonly PlannedCall[]): Promise<number> {
    let current = plans;
    let total = 0;
    for (let round = 0; round < MAX_DEPENDENT_ROUNDS && current.length > 0; round += 1) {
      const rows = await findDependentCalls(this.lookups, current, (id) => this.settings.get(id));
      if (rows.length === 0) break;
      current = await this.planStored(rows, {});
      await this.commit(current, 'dependents');
      total += current.length;
    }
    if (total > 0) this.logger.info({ event: 'dependent_calls_reevaluated', calls: total });
    return total;
  }

  private siteFacts(siteId: string): SiteFacts | undefined {
    const site = this.sites.get(siteId);
    const numbers = siteNumbersOf(site);
    return numbers ? { numbers, timeZone: validTimeZone(site?.timeZone) } : undefined;
  }

  private logSuperseded(r: CallReport, storedVersion: number | undefined): void {
    this.logger.info({
      event: 'call_report_superseded',
      site_id: r.siteId,
      call_id: r.callId,
      version: r.reportVersion,
      stored_version: storedVersion,
      event_id: r.reportEventId,
    });
  }
}
