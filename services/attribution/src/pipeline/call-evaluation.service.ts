import { Inject, Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { calltrack, callKey } from '@calltrack/contracts';
import { KafkaBus, type OutgoingRecord } from '@calltrack/kafka';
import { CONFIG, LOGGER, SiteDirectory } from '@calltrack/service-kit';
import type { Context, Logger } from '@calltrack/telemetry';
import { AttributionSettingsService } from '../settings/attribution-settings.service.js';
import type { SiteSettings } from '../settings/attribution-settings.js';
import { AttributionStore, LEASE_LOOKBACK_MS } from '../store/attribution-store.js';
import {
  creditsForCall,
  evaluateCalls,
  type EvaluationLookups,
  historyOfRow,
  planWrites,
  reportOfRow,
  type CallReport,
  type EvaluatedCall,
  type PlannedCall,
  type SiteFacts,
  type StoredCall,
} from './call-evaluation.js';
import { CallLookups } from '../store/call-lookups.js';
import { callsToFollow, type LeftLead, type WrittenCall } from './dependent-calls.js';
import { EnquiryLookups, type ContactPeople, type ContactProbe } from '../store/enquiry-lookups.js';
import { ContactProbes, type Contact } from '../leads/lead-grouping.js';
import {
  decideMatch,
  matchLease,
  mayImproveWithState,
  PROMO_TIME_TOLERANCE_MS,
  repeatCallerSource,
  type HistoryCall,
  type LeaseCandidate,
  type Redemption,
  type SiteNumbers,
  type VisitSource,
} from '../matching/call-matching.js';
import type { TouchCredit } from '../models/call-credits.js';
import { isSuperseded } from './call-version.js';
import type { AttributionConfig } from '../config.js';
import { MarkovModelService } from '../models/markov-model.service.js';
import { validTimeZone } from '../classification/working-hours.js';
import type { CallRow } from '../store/rows.js';

const OUTBOUND = calltrack.events.v1.CallDirection.CALL_DIRECTION_OUTBOUND;
const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
const POLL_MS = 250;
/** Rounds of "calls that depend on calls just written" followed in one go. */
const MAX_DEPENDENT_ROUNDS = 6;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const pairKey = (siteId: string, id: string): string => `${siteId}\n${id}`;
const unique = <T>(values: readonly T[]): T[] => [...new Set(values)];
// A row's content is fixed by its key and version (planWrites gives different content a new
// version), so hashing those names an insert: the same rows again get the same dedup token.
const digest = (keys: readonly string[]): string => createHash('sha256').update(keys.join('\n')).digest('hex').slice(0, 24);

/** A new report with what the live consumer knows of its record. */
export interface IncomingReport {
  report: CallReport;
  /** When the record was published (Kafka timestamp): how fresh the call is. */
  publishedAtMs: number;
  traceContext?: Context;
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
    })),
  };
}

/**
 * Evaluates calls against what ClickHouse holds (one query per lookup for a whole batch)
 * and writes the results: new provider reports from the live consumer, and stored calls
 * evaluated again (a promo code redeemed, a call-back, a call-back window passed, calls
 * that depend on calls just written, a recompute). All writes of calls run one after
 * another in this process (exclusive()), so versions of one call never race here.
 */
@Injectable()
export class CallEvaluationService {
  private chain: Promise<unknown> = Promise.resolve();
  private readonly graceMs: number;
  private readonly stateWaitMs: number;
  private readonly committed: Array<(plans: readonly PlannedCall[]) => Promise<void>> = [];

  constructor(
    private readonly bus: KafkaBus,
    private readonly store: AttributionStore,
    private readonly lookups: CallLookups,
    private readonly sites: SiteDirectory,
    private readonly settings: AttributionSettingsService,
    private readonly markov: MarkovModelService,
    private readonly enquiryLookups: EnquiryLookups,
    @Inject(CONFIG) config: AttributionConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.graceMs = config.ATTRIBUTION_GRACE_SECONDS * 1000;
    // Kept well inside the session timeout, though the flush heartbeats while it waits.
    this.stateWaitMs = Math.min(config.ATTRIBUTION_STATE_WAIT_MS, Math.floor(config.KAFKA_SESSION_TIMEOUT_MS / 2));
  }

  /** Runs `fn` after every evaluation started before it finished: one writer of calls per process. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  siteFacts(siteId: string): SiteFacts | undefined {
    const site = this.sites.get(siteId);
    const numbers = siteNumbersOf(site);
    return numbers ? { numbers, timeZone: validTimeZone(site?.timeZone) } : undefined;
  }

  /**
   * Lease and visit events travel on other topics, read by the state consumer: a call
   * published less than ATTRIBUTION_STATE_WAIT_MS ago whose match could still improve (no
   * lease, no visit yet, or a lease past its expiry without a release) polls ClickHouse
   * until it could not, or the time is up.
   */
  async waitForState(items: readonly IncomingReport[]): Promise<void> {
    // An outbound call is never matched: nothing to wait for.
    let pending = items.filter((i) => i.report.call.trackingNumber && i.report.call.direction !== OUTBOUND && Date.now() < i.publishedAtMs + this.stateWaitMs);
    let rounds = 0;
    while (pending.length > 0) {
      rounds += 1;
      const starts = pending.map((i) => i.report.keyStartMs);
      const leases = await this.store.leaseCandidates(
        pending.map((i) => ({ siteId: i.report.siteId, trackingNumber: i.report.call.trackingNumber ?? '' })),
        Math.min(...starts) - LEASE_LOOKBACK_MS,
        Math.max(...starts),
      );
      const byNumber = groupLeases(leases);
      const decisions = pending.map((i) =>
        decideMatch({
          trackingNumber: i.report.call.trackingNumber ?? '',
          callStartMs: i.report.keyStartMs,
          graceMs: this.graceMs,
          site: this.siteFacts(i.report.siteId)?.numbers,
          leases: byNumber.get(pairKey(i.report.siteId, i.report.call.trackingNumber ?? '')) ?? [],
        }),
      );
      const matched = decisions.flatMap((d, j) =>
        d.method === 'dynamic' ? [{ siteId: pending[j]!.report.siteId, sessionId: d.lease.sessionId, at: d.lease.grantedAtMs }] : [],
      );
      const visits =
        matched.length > 0
          ? await this.store.visits(matched, Math.min(...matched.map((m) => m.at)) - DAY_MS, Math.max(...matched.map((m) => m.at)) + DAY_MS)
          : new Map<string, VisitSource>();
      const now = Date.now();
      pending = pending.filter((i, j) => {
        const d = decisions[j]!;
        const visit = d.method === 'dynamic' ? visits.get(pairKey(i.report.siteId, d.lease.sessionId)) : undefined;
        return mayImproveWithState(d, visit) && now < i.publishedAtMs + this.stateWaitMs;
      });
      if (pending.length > 0) {
        const until = Math.min(...pending.map((i) => i.publishedAtMs + this.stateWaitMs));
        await sleep(Math.max(10, Math.min(POLL_MS, until - now)));
      }
    }
    if (rounds > 1) this.logger.debug({ event: 'calls_waited_for_state', rounds, calls: items.length });
  }

  /**
   * Evaluates new provider reports (mode "report": reports older than what is stored are
   * dropped) or stored rows again (mode "reevaluate"), and plans what to write. Reads only.
   * `markov` overrides the data-driven shares of a site (a recompute uses the model it
   * just learnt), `nowMs` the time call-back windows are judged at.
   */
  async plan(
    input: { mode: 'report'; reports: readonly CallReport[] } | { mode: 'reevaluate'; rows: readonly CallRow[] },
    options: { nowMs?: number; markov?: ReadonlyMap<string, ReadonlyMap<string, number>>; settings?: ReadonlyMap<string, SiteSettings> } = {},
  ): Promise<PlannedCall[]> {
    await this.settings.loaded;
    const nowMs = options.nowMs ?? Date.now();
    let reports: CallReport[];
    let storedRows: Map<string, CallRow>;
    if (input.mode === 'report') {
      if (input.reports.length === 0) return [];
      const starts = input.reports.map((r) => r.keyStartMs);
      storedRows = await this.lookups.storedRows(input.reports, Math.min(...starts) - 2 * DAY_MS, Math.max(...starts) + 2 * DAY_MS);
      // Older reports than what is stored (or accepted earlier in this batch) are dropped.
      const latest = new Map<string, number>([...storedRows].map(([k, r]) => [k, r.report_version]));
      reports = [];
      for (const r of input.reports) {
        const key = pairKey(r.siteId, r.callId);
        if (isSuperseded(r.reportVersion, latest.get(key))) {
          this.logger.info({
            event: 'call_report_superseded',
            site_id: r.siteId,
            call_id: r.callId,
            version: r.reportVersion,
            stored_version: latest.get(key),
            event_id: r.reportEventId,
          });
          continue;
        }
        latest.set(key, r.reportVersion);
        // Every version of a call keeps the start of its first one (it is in the sorting key).
        const stored = storedRows.get(key)?.started_at;
        reports.push({ ...r, keyStartMs: stored ? Date.parse(stored) : r.keyStartMs });
      }
    } else {
      storedRows = new Map(input.rows.map((r) => [pairKey(r.site_id, r.call_id), r]));
      reports = [...storedRows.values()].map(reportOfRow);
    }
    if (reports.length === 0) return [];

    const siteIds = unique(reports.map((r) => r.siteId));
    const settingsOf = (siteId: string): SiteSettings => options.settings?.get(siteId) ?? this.settings.get(siteId);
    const widest = (f: (s: SiteSettings) => number): number => Math.max(...siteIds.map((id) => f(settingsOf(id))));
    const earlierMs = widest((s) => Math.max(s.lookbackDays, s.repeatCallerWindowDays, s.leadWindowDays)) * DAY_MS;
    const callbackMs = widest((s) => s.callbackWindowHours) * HOUR_MS;
    const lookbackMs = widest((s) => s.lookbackDays) * DAY_MS;
    const starts = reports.map((r) => r.keyStartMs);
    const [minStart, maxStart] = [Math.min(...starts), Math.max(...starts)];
    const keys = reports.map((r) => ({ siteId: r.siteId, callId: r.callId }));
    const evaluating = new Set(keys.map((k) => pairKey(k.siteId, k.callId)));
    const inbound = reports.filter((r) => r.call.direction !== OUTBOUND);
    const numberOf = (r: CallReport): string => (r.call.direction === OUTBOUND ? (r.call.calledNumber ?? '') : (r.call.callerNumber ?? ''));

    const [storedCredits, leases, redemptions, historyRows] = await Promise.all([
      this.lookups.storedCredits(keys, minStart, maxStart),
      this.store.leaseCandidates(
        inbound.filter((r) => r.call.trackingNumber).map((r) => ({ siteId: r.siteId, trackingNumber: r.call.trackingNumber ?? '' })),
        minStart - LEASE_LOOKBACK_MS,
        maxStart,
      ),
      this.lookups.redemptions(
        siteIds,
        inbound.map((r) => r.callId),
        inbound.map((r) => r.call.callerNumber ?? ''),
        minStart - PROMO_TIME_TOLERANCE_MS,
        maxStart + PROMO_TIME_TOLERANCE_MS,
      ),
      this.lookups.callsOfNumbers(
        reports.map((r) => ({ siteId: r.siteId, number: numberOf(r) })),
        minStart - earlierMs - PROMO_TIME_TOLERANCE_MS,
        maxStart + Math.max(callbackMs, PROMO_TIME_TOLERANCE_MS),
      ),
    ]);
    const stored = new Map<string, StoredCall>([...storedRows].map(([k, row]) => [k, { row, credits: storedCredits.get(k) ?? [] }]));
    const history = historyRows.filter((r) => !evaluating.has(pairKey(r.site_id, r.call_id))).map(historyOfRow);
    const leasesByNumber = groupLeases(leases);

    // Visits that a call may be credited to: its lease's, a redemption's, or (for a call
    // neither explains) the visit of the caller's latest earlier matched call.
    const hints: Array<{ siteId: string; sessionId: string; at: number }> = [];
    for (const red of redemptions) hints.push({ siteId: red.siteId, sessionId: red.sessionId, at: red.leaseGrantedAtMs ?? red.calledAtMs });
    // The history by caller number (what repeatCallerSource looks at): a scan of all of it per call is quadratic in a backlog.
    const historyByCaller = new Map<string, HistoryCall[]>();
    for (const h of history) {
      const list = historyByCaller.get(h.callerNumber);
      if (list) list.push(h);
      else historyByCaller.set(h.callerNumber, [h]);
    }
    const redeemedBy = new Set(redemptions.flatMap((red) => [pairKey(red.siteId, red.callId), pairKey(red.siteId, red.callerNumber)]));
    for (const r of inbound) {
      const m = matchLease(leasesByNumber.get(pairKey(r.siteId, r.call.trackingNumber ?? '')) ?? [], r.keyStartMs, this.graceMs);
      if (m) hints.push({ siteId: r.siteId, sessionId: m.lease.sessionId, at: m.lease.grantedAtMs });
      else if (!redeemedBy.has(pairKey(r.siteId, r.callId)) && !redeemedBy.has(pairKey(r.siteId, r.call.callerNumber ?? ''))) {
        const source = repeatCallerSource(
          { callId: r.callId, callerNumber: r.call.callerNumber ?? '', startedAtMs: r.keyStartMs },
          historyByCaller.get(r.call.callerNumber ?? '') ?? [],
          settingsOf(r.siteId).lookbackDays * DAY_MS,
        );
        if (source) hints.push({ siteId: r.siteId, sessionId: source.sessionId, at: source.sessionStartedAtMs ?? source.startedAtMs });
      }
    }
    const visits = await this.visitsOf(hints, redemptions);
    const evaluationLookups: EvaluationLookups = {
      nowMs,
      graceMs: this.graceMs,
      site: (id) => this.siteFacts(id),
      settings: settingsOf,
      leases: (siteId, number) => leasesByNumber.get(pairKey(siteId, number)) ?? [],
      redemptions,
      history,
      visit: (siteId, sessionId) => visits.get(pairKey(siteId, sessionId)),
    };
    const personContacts = await this.personContactsOf(reports, evaluationLookups, {
      // Enquiries and calls of the callers and of the visitors the calls may be matched to: a call
      // joins the lead of the same person's form or call before it.
      people: {
        siteIds,
        phones: inbound.map((r) => r.call.callerNumber ?? ''),
        visitors: [...leases.map((l) => l.visitorId), ...redemptions.map((r) => r.visitorId), ...history.map((h) => h.visitorId)],
      },
      fromMs: minStart - widest((s) => s.leadWindowDays) * DAY_MS,
      toMs: maxStart,
      evaluating,
      history,
    });
    const evaluated = evaluateCalls(reports, { ...evaluationLookups, personContacts: (siteId) => personContacts.get(siteId) ?? [] });

    const touches = await this.lookups.visitorTouches(
      evaluated.filter((e) => e.visitorId).map((e) => ({ siteId: e.report.siteId, visitorId: e.visitorId })),
      minStart - lookbackMs,
      maxStart,
    );
    const shares = new Map<string, ReadonlyMap<string, number>>();
    for (const id of siteIds) shares.set(id, options.markov?.get(id) ?? (await this.markov.shares(id)));
    const credits = new Map<EvaluatedCall, TouchCredit[]>(
      evaluated.map((e) => [e, creditsForCall(e, touches.get(pairKey(e.report.siteId, e.visitorId)) ?? [], shares.get(e.report.siteId)!)]),
    );
    return planWrites(evaluated, credits, stored, input.mode);
  }

  /**
   * The stored contacts the calls' leads are decided from, by site: for each call, its person's
   * latest earlier contact per phone and visitor, and the first contacts of those contacts'
   * leads and of the callers' stored calls' leads (a lead's window runs from its first contact).
   * Which people each call is (its caller, the visitor it is matched to) does not depend on
   * leads: an evaluation over an index that only records what it is asked tells, and only
   * those are read, instead of every contact of every person in the lead window (a whole
   * history per batch for a busy caller or visitor). The calls being evaluated are left out:
   * their stored state is what is being replaced (evaluateCalls sees them as evaluated).
   */
  private async personContactsOf(
    reports: readonly CallReport[],
    lookups: EvaluationLookups,
    q: { people: ContactPeople; fromMs: number; toMs: number; evaluating: ReadonlySet<string>; history: readonly HistoryCall[] },
  ): Promise<Map<string, Contact[]>> {
    const recorders = new Map<string, ContactProbes>();
    evaluateCalls(reports, {
      ...lookups,
      personContacts: (siteId) => {
        const recorder = new ContactProbes();
        recorders.set(siteId, recorder);
        return recorder;
      },
    });
    const probes: ContactProbe[] = [...recorders].flatMap(([siteId, r]) =>
      r.probes.map((c) => ({ siteId, phone: c.phone, visitorId: c.visitorId, atMs: c.atMs, id: c.id })),
    );
    const latest = await this.enquiryLookups.latestContactsBefore(q.people, probes, q.fromMs, q.toMs, [...q.evaluating]);
    const have = new Set(latest.map((c) => pairKey(c.siteId, c.id)));
    const leads = new Map<string, { siteId: string; id: string }>();
    for (const c of latest) if (c.leadId) leads.set(pairKey(c.siteId, c.leadId), { siteId: c.siteId, id: c.leadId });
    for (const h of q.history) if (h.direction === 'inbound' && h.leadId) leads.set(pairKey(h.siteId, h.leadId), { siteId: h.siteId, id: h.leadId });
    const firsts = await this.enquiryLookups.contactsByIds(
      q.people,
      [...leads].filter(([key]) => !have.has(key)).map(([, k]) => k),
      q.fromMs,
      q.toMs,
    );
    const out = new Map<string, Contact[]>();
    for (const c of [...latest, ...firsts]) {
      if (c.kind === 'call' && q.evaluating.has(pairKey(c.siteId, c.id))) continue;
      const list = out.get(c.siteId) ?? [];
      list.push(c);
      out.set(c.siteId, list);
    }
    return out;
  }

  private async visitsOf(
    hints: ReadonlyArray<{ siteId: string; sessionId: string; at: number }>,
    redemptions: readonly Redemption[],
  ): Promise<Map<string, VisitSource>> {
    if (hints.length === 0) return new Map();
    const times = hints.map((h) => h.at);
    // A visit starts just before it asks for a number (a day either side covers clock skew); a
    // redeemed code may have been shown up to number-pool's redemption window before the call.
    const reach = redemptions.some((r) => r.leaseGrantedAtMs === null) ? 31 * DAY_MS : DAY_MS;
    return this.store.visits(hints, Math.min(...times) - reach, Math.max(...times) + DAY_MS);
  }

  /** Writes the planned rows and credits, then publishes what changed. Idempotent: a retry writes the same rows under the same tokens. */
  async commit(plans: readonly PlannedCall[], label: string, traceContexts?: ReadonlyMap<string, Context>): Promise<void> {
    if (plans.length === 0) return;
    const rows = plans.map((p) => p.row);
    const credits = plans.flatMap((p) => p.credits);
    await this.store.write('calls', rows, `${label}:calls:${digest(rows.map((r) => `${r.site_id} ${r.call_id} ${r.version}`))}`);
    await this.store.write(
      'attribution_credits',
      credits,
      `${label}:credits:${digest(credits.map((c) => `${c.site_id} ${c.call_id} ${c.model} ${c.session_id} ${c.version} ${c.is_deleted}`))}`,
    );
    const outbox: OutgoingRecord[] = plans
      .filter((p) => p.publish)
      .map((p) => {
        const trace = traceContexts?.get(p.evaluated.report.reportEventId);
        return { topic: 'attributedCalls' as const, key: callKey(p.row.site_id, p.row.call_id), event: p.event, ...(trace ? { traceContext: trace } : {}) };
      });
    await this.bus.producer.publishMany(outbox);
    for (const listener of this.committed) await listener(plans);
  }

  /**
   * Work to do after calls were written, inside the same exclusive section (the leads
   * projection, enquiries whose lead depends on the calls). A listener must not call
   * exclusive() itself.
   */
  onCommitted(listener: (plans: readonly PlannedCall[]) => Promise<void>): void {
    this.committed.push(listener);
  }

  /**
   * Evaluates again, until nothing changes (at most MAX_DEPENDENT_ROUNDS rounds), the
   * stored calls that depend on calls just written: the next call of the same caller or
   * visitor (first or repeat, lead, repeat-caller match: dependent-calls.ts), the later calls
   * of a lead a call left, and the missed calls an outbound call called back. Each round reads
   * positions, not whole histories, so a backlog of a busy caller's calls stays linear.
   * Calls normally arrive in order, so this finds nothing; it repairs a late or re-evaluated one.
   */
  async followDependents(plans: readonly PlannedCall[]): Promise<number> {
    let current = plans;
    let total = 0;
    for (let round = 0; round < MAX_DEPENDENT_ROUNDS && current.length > 0; round += 1) {
      const written = current.map((p) => p.row);
      const writtenKeys = new Set(written.map((r) => pairKey(r.site_id, r.call_id)));
      const sites = unique(written.map((r) => r.site_id)).map((id) => this.settings.get(id));
      const laterMs = Math.max(...sites.map((s) => Math.max(s.lookbackDays, s.repeatCallerWindowDays, s.leadWindowDays))) * DAY_MS;
      const callbackMs = Math.max(...sites.map((s) => s.callbackWindowHours)) * HOUR_MS;
      const at = (r: CallRow): number => Date.parse(r.started_at ?? '') || 0;
      // Spam is nobody's lead, so it has no dependents through its visitor.
      const inbound: WrittenCall[] = written
        .filter((r) => r.direction !== 'outbound')
        .map((r) => ({ siteId: r.site_id, callId: r.call_id, number: r.caller_number, visitorId: r.verdict === 'spam' ? '' : r.visitor_id, atMs: at(r) }))
        .filter((w) => w.number || w.visitorId);
      const leftLeads: LeftLead[] = current
        .filter((p) => p.row.direction !== 'outbound' && p.previousLeadId && p.previousLeadId !== p.row.lead_id)
        .map((p) => ({ siteId: p.row.site_id, leadId: p.previousLeadId, callId: p.row.call_id, atMs: at(p.row) }));
      const outboundWritten = written.filter((r) => r.direction === 'outbound' && r.called_number);
      const rows = new Map<string, CallRow>();
      if (inbound.length > 0 || leftLeads.length > 0) {
        const starts = [...inbound.map((w) => w.atMs), ...leftLeads.map((l) => l.atMs)];
        const [fromMs, toMs] = [Math.min(...starts), Math.max(...starts) + laterMs];
        // Per written call and person key, only the calls up to its next one (ClickHouse picks
        // them); a lead left behind is read whole, as every later call in it may follow.
        const [following, inLeftLeads] = await Promise.all([
          this.lookups.nextPositions(inbound, fromMs, toMs),
          leftLeads.length === 0
            ? []
            : this.lookups.callPositions(
                { sites: leftLeads.map((l) => l.siteId), numbers: [], visitors: [], leads: leftLeads.map((l) => l.leadId) },
                fromMs,
                toMs,
              ),
        ]);
        const seen = new Set(following.map((p) => pairKey(p.siteId, p.callId)));
        const positions = [...following, ...inLeftLeads.filter((p) => !seen.has(pairKey(p.siteId, p.callId)))];
        const next = callsToFollow(inbound, positions, leftLeads);
        if (next.length > 0) {
          const stored = await this.lookups.storedRows(next, Math.min(...next.map((p) => p.atMs)), Math.max(...next.map((p) => p.atMs)));
          for (const [key, row] of stored) if (!writtenKeys.has(key)) rows.set(key, row);
        }
      }
      for (const d of await this.lookups.calledBack(
        outboundWritten.map((r) => ({ siteId: r.site_id, number: r.called_number, startedAtMs: at(r) })),
        callbackMs,
      )) {
        const key = pairKey(d.site_id, d.call_id);
        if (writtenKeys.has(key)) continue;
        if (outboundWritten.some((w) => w.site_id === d.site_id && w.called_number === d.caller_number && at(w) >= at(d))) rows.set(key, d);
      }
      if (rows.size === 0) break;
      current = await this.plan({ mode: 'reevaluate', rows: [...rows.values()] });
      await this.commit(current, 'dependents');
      total += current.length;
    }
    if (total > 0) this.logger.info({ event: 'dependent_calls_reevaluated', calls: total });
    return total;
  }

  /** Evaluates stored calls again (sweeps, redemptions) and writes what changed, with its dependents. */
  async reevaluate(rows: () => Promise<readonly CallRow[]>, label: string): Promise<PlannedCall[]> {
    return this.exclusive(async () => {
      const fresh = await rows();
      if (fresh.length === 0) return [];
      const plans = await this.plan({ mode: 'reevaluate', rows: fresh });
      await this.commit(plans, label);
      await this.followDependents(plans);
      if (plans.length > 0) this.logger.info({ event: 'calls_reevaluated', reason: label, calls: fresh.length, changed: plans.length });
      return plans;
    });
  }

  /** Re-attributes the stored calls that promo-code redemptions name. */
  reevaluateRedeemed(redemptions: readonly Redemption[]): Promise<PlannedCall[]> {
    return this.reevaluate(() => this.lookups.callsNamedBy(redemptions, PROMO_TIME_TOLERANCE_MS), 'promo_redemption');
  }
}

function groupLeases(leases: readonly LeaseCandidate[]): Map<string, LeaseCandidate[]> {
  const byNumber = new Map<string, LeaseCandidate[]>();
  for (const lease of leases) {
    const key = pairKey(lease.siteId, lease.trackingNumber);
    const list = byNumber.get(key);
    if (list) list.push(lease);
    else byNumber.set(key, [lease]);
  }
  return byNumber;
}
