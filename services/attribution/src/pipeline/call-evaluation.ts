// Evaluates calls: origin (call-matching), classification (call-classification) and
// credits (call-credits), in call order so that each call sees the ones before it;
// then turns the results into `calls` and `attribution_credits` rows with the version
// and event id rules below. Pure: the lookups are passed in (call-evaluation.service.ts
// reads them from ClickHouse, once per batch).
import { createHash } from 'node:crypto';
import { calltrack, callDirectionLabel, createEvent, derivedEventId, visitOrigin, visitOriginOf, type DomainEvent } from '@calltrack/contracts';
import { modelSettingsOf, type SiteSettings } from '../settings/attribution-settings.js';
import { classifyCall, type Classification } from '../classification/call-classification.js';
import { creditPathOf, creditsOf, type TouchCredit, type TouchVisit } from '../models/call-credits.js';
import {
  isBefore,
  matchedSession,
  originOf,
  type HistoryCall,
  type LeaseCandidate,
  type MatchDecision,
  type Redemption,
  type SiteNumbers,
  type VisitSource,
} from '../matching/call-matching.js';
import { isFinalStatus } from './call-version.js';
import { ContactIndex, leadOfContactIn, type Contact } from '../leads/lead-grouping.js';
import { SERVICE_NAME } from '../config.js';
import { callRow } from '../store/row-mappers.js';
import { creditedOriginOfColumns } from '../store/origin-columns.js';
import type { CallRow, CreditRow } from '../store/rows.js';
import type { LearntWeights } from '../models/attribution-models.js';

const { CallStatus, Verdict } = calltrack.events.v1;
const DAY_MS = 86_400_000;

/** One provider report of a call to evaluate: a new CallScreened, or the stored latest report evaluated again. */
export interface CallReport {
  siteId: string;
  callId: string;
  /** Id of the report's CallScreened event; the CallAttributed ids derive from it. */
  reportEventId: string;
  call: calltrack.events.v1.ICallReported;
  verdict: number;
  verdictReason: string;
  /** started_at the call's rows are keyed by (its first stored start). */
  keyStartMs: number;
  /** callVersion of the report. */
  reportVersion: number;
  /** occurred_at of the CallAttributed events. */
  occurredAtMs: number;
}

export interface SiteFacts {
  numbers: SiteNumbers;
  timeZone: string;
}

/** What the evaluation reads; call-evaluation.service.ts fills it per batch. */
export interface EvaluationLookups {
  nowMs: number;
  graceMs: number;
  site(siteId: string): SiteFacts | undefined;
  settings(siteId: string): SiteSettings;
  leases(siteId: string, trackingNumber: string): readonly LeaseCandidate[];
  redemptions: readonly Redemption[];
  /** Stored calls of the callers involved, without the calls being evaluated (their stored state is what is being replaced). */
  history: readonly HistoryCall[];
  visit(siteId: string, sessionId: string): VisitSource | undefined;
  /**
   * Stored contacts of the visitors the calls may be matched to and of the callers: enquiries,
   * and calls from other numbers (not those being evaluated). A call joins the lead of the
   * same person's earlier form or call, a person being a phone or a visitor (lead-grouping.ts).
   * The service passes an index of only what the leads are decided from (each call's person's
   * latest earlier contact and the first contacts of their leads: personContactsOf).
   */
  personContacts?(siteId: string): readonly Contact[] | ContactIndex;
}

export interface EvaluatedCall {
  report: CallReport;
  decision: MatchDecision;
  visit: VisitSource | undefined;
  classification: Classification;
  settings: SiteSettings;
  /** When the credited visit started, when known. */
  sessionStartedAtMs: number | null;
  /** The visitor whose path is credited ('' for static and unmatched calls). */
  visitorId: string;
  event: DomainEvent<'CallAttributed'>;
}

const directionOf = (report: CallReport): string => callDirectionLabel(report.call.direction);
const talkSecondsOf = (c: calltrack.events.v1.ICallReported): number => {
  const answered = Number(c.answeredAtMs) || 0;
  const ended = Number(c.endedAtMs) || 0;
  return answered && ended > answered ? Math.round((ended - answered) / 1000) : 0;
};

/** Report order within a batch: by start, call id, then the order given (one call's reports in log order). */
export function inCallOrder(reports: readonly CallReport[]): CallReport[] {
  return reports
    .map((r, i) => ({ r, i }))
    .sort((a, b) => a.r.keyStartMs - b.r.keyStartMs || (a.r.callId < b.r.callId ? -1 : a.r.callId > b.r.callId ? 1 : a.i - b.i))
    .map(({ r }) => r);
}

/** A report with the match decided for it (decide-matches.ts), in call order. */
export interface MatchedReport {
  report: CallReport;
  decision: MatchDecision;
}

/** A call's phone number on the line: the caller of an inbound call, the called number of an outbound one. */
const personNumberOf = (h: Pick<HistoryCall, 'direction' | 'callerNumber' | 'calledNumber'>): string =>
  h.direction === 'outbound' ? h.calledNumber : h.callerNumber;

/**
 * The stored and batch calls by site and person number, as the calls of a batch are worked
 * through in call order: every rule about a caller's other calls looks at one number, and a
 * batch call replaces its stored state as it is decided or evaluated.
 */
export class CallsByNumber {
  readonly #byNumber = new Map<string, Map<string, HistoryCall>>();

  constructor(history: readonly HistoryCall[], batch: readonly CallReport[]) {
    for (const h of history) this.put(h);
    for (const r of batch) this.put(historyOf(r, undefined, null, ''));
  }

  put(h: HistoryCall): void {
    const number = personNumberOf(h);
    if (!number) return;
    const key = `${h.siteId}\n${number}`;
    let calls = this.#byNumber.get(key);
    if (!calls) this.#byNumber.set(key, (calls = new Map()));
    calls.set(h.callId, h);
  }

  of(siteId: string, number: string): HistoryCall[] {
    return number ? [...(this.#byNumber.get(`${siteId}\n${number}`)?.values() ?? [])] : [];
  }

  get(siteId: string, number: string, callId: string): HistoryCall | undefined {
    return this.#byNumber.get(`${siteId}\n${number}`)?.get(callId);
  }
}

/**
 * Classifies the calls whose match is decided and groups them into leads, in call order:
 * each call sees the stored history plus the calls before it in this batch (as just
 * evaluated); later calls of the batch count only as call-backs. A repeat caller's origin
 * is its source call's as evaluated (a source in this batch is complete only now). The
 * CallAttributed of each result has a placeholder id until planWrites() gives it its version.
 */
export function evaluateCalls(matched: readonly MatchedReport[], lookups: EvaluationLookups): EvaluatedCall[] {
  const calls = new CallsByNumber(
    lookups.history,
    matched.map((m) => m.report),
  );
  // Calls of this batch as evaluated, by visitor: a later one from another number joins their lead.
  const batchByVisitor = new Map<string, Contact[]>();
  // The site's stored contacts by person, built once: scanning them all for every call was quadratic in a backlog.
  const siteContacts = new Map<string, ContactIndex>();
  const contactsOfSite = (siteId: string): ContactIndex => {
    let index = siteContacts.get(siteId);
    if (!index) {
      const given = lookups.personContacts?.(siteId) ?? [];
      siteContacts.set(siteId, (index = given instanceof ContactIndex ? given : new ContactIndex(given)));
    }
    return index;
  };

  const out: EvaluatedCall[] = [];
  for (const { report, decision: decided } of matched) {
    const site = lookups.site(report.siteId);
    const settings = lookups.settings(report.siteId);
    const direction = directionOf(report);
    const c = report.call;
    const start = report.keyStartMs;
    const caller = direction === 'inbound' ? (c.callerNumber ?? '') : '';
    const sameNumber = calls.of(report.siteId, caller);
    const others = sameNumber.filter((h) => h.callId !== report.callId);
    const callerCalls = sameNumber.filter((h) => h.direction === 'inbound');
    const decision: MatchDecision =
      decided.method === 'repeat_caller'
        ? { ...decided, source: calls.get(decided.source.siteId, personNumberOf(decided.source), decided.source.callId) ?? decided.source }
        : decided;
    const session = matchedSession(decision);
    const visit = session ? lookups.visit(report.siteId, session.sessionId) : undefined;

    // A provider may report an answered call without the moment of the answer.
    const answered = Number(c.answeredAtMs) > 0 || c.status === CallStatus.CALL_STATUS_ANSWERED || c.status === CallStatus.CALL_STATUS_COMPLETED;
    const classification = classifyCall(
      {
        callId: report.callId,
        direction,
        callerNumber: caller,
        startedAtMs: start,
        answeredAtMs: answered ? Number(c.answeredAtMs) || start : 0,
        talkSeconds: talkSecondsOf(c),
        final: isFinalStatus(c.status),
        spam: report.verdict === Verdict.VERDICT_SPAM,
      },
      others,
      settings,
      site?.timeZone ?? 'UTC',
      lookups.nowMs,
    );
    if (report.verdict === Verdict.VERDICT_SPAM) {
      // Spam is nobody's lead: it neither opens one nor joins the lead of the visitor whose number it dialled.
      classification.leadId = '';
    } else if (direction === 'inbound') {
      // One lead per person across calls and enquiries: the caller's calls by number, enquiries by number or visitor.
      const self: Contact = { id: report.callId, kind: 'call', phone: caller, visitorId: session?.visitorId ?? '', atMs: start, leadId: '' };
      const contacts: Contact[] = callerCalls
        .filter((h) => !h.spam)
        .map((h) => ({ id: h.callId, kind: 'call' as const, phone: h.callerNumber, visitorId: h.visitorId, atMs: h.startedAtMs, leadId: h.leadId }));
      const visitorKey = self.visitorId ? `${report.siteId}\n${self.visitorId}` : '';
      const sameVisitor = visitorKey ? (batchByVisitor.get(visitorKey) ?? []) : [];
      classification.leadId = leadOfContactIn(self, [contacts, sameVisitor, contactsOfSite(report.siteId)], settings.leadWindowDays * DAY_MS);
      if (visitorKey) {
        if (batchByVisitor.has(visitorKey)) sameVisitor.push({ ...self, leadId: classification.leadId });
        else batchByVisitor.set(visitorKey, [{ ...self, leadId: classification.leadId }]);
      }
    }
    const sessionStartedAtMs =
      decision.method === 'repeat_caller' ? (decision.source.sessionStartedAtMs ?? visit?.startedAtMs ?? null) : visit ? visit.startedAtMs : null;
    const origin = originOf(decision, visit);
    const event = createEvent(
      'CallAttributed',
      {
        ...origin,
        call: c,
        verdict: report.verdict,
        verdictReason: report.verdictReason,
        final: isFinalStatus(c.status),
        classification: { ...classification },
        settingsRevision: settings.revision,
      },
      {
        siteId: report.siteId,
        producer: SERVICE_NAME,
        eventId: derivedEventId(report.reportEventId, 'attributed'),
        causationId: report.reportEventId,
        occurredAtMs: report.occurredAtMs,
      },
    );
    calls.put(historyOf(report, event.payload, sessionStartedAtMs, classification.leadId));
    out.push({ report, decision, visit, classification, settings, sessionStartedAtMs, visitorId: session?.visitorId ?? '', event });
  }
  return out;
}

/** A report as a HistoryCall (before evaluation: identity only; with the event once evaluated or decided). */
export function historyOf(
  r: CallReport,
  a: calltrack.events.v1.ICallAttributed | undefined,
  sessionStartedAtMs: number | null | undefined,
  leadId: string,
): HistoryCall {
  const c = r.call;
  const { analyticsIds: _ids, ...origin } = a ? visitOriginOf(a) : visitOrigin();
  return {
    siteId: r.siteId,
    callId: r.callId,
    direction: directionOf(r),
    callerNumber: c.callerNumber ?? '',
    calledNumber: c.calledNumber ?? '',
    startedAtMs: r.keyStartMs,
    matchMethod: a ? matchMethodName(a.method) : '',
    matchConfidence: a?.confidence ?? 0,
    sessionId: a?.sessionId ?? '',
    visitorId: a?.visitorId ?? '',
    leaseId: a?.leaseId ?? '',
    sessionStartedAtMs: sessionStartedAtMs ?? null,
    ...origin,
    leadId,
    spam: r.verdict === Verdict.VERDICT_SPAM,
  };
}

const METHOD_NAMES: Readonly<Record<number, string>> = { 1: 'dynamic', 2: 'static', 3: 'unmatched', 4: 'promo_code', 5: 'repeat_caller' };
const matchMethodName = (m: number | null | undefined): string => METHOD_NAMES[m ?? 0] ?? '';

/**
 * The touches a call is credited over: the visitor's visits within the site's lookback
 * (plus the matched visit), a static number's source as a single touch, nothing for an
 * unmatched call. `visitorVisits` are the visitor's visits without bots.
 */
export function creditsForCall(e: EvaluatedCall, visitorVisits: readonly TouchVisit[], learnt: LearntWeights): TouchCredit[] {
  const start = e.report.keyStartMs;
  const { channel, utm } = visitOriginOf(e.event.payload);
  let path: TouchVisit[];
  switch (e.decision.method) {
    case 'unmatched':
      return [];
    case 'static':
      path = [{ sessionId: '', visitorId: '', startedAtMs: start, channel, utm }];
      break;
    default: {
      const session = matchedSession(e.decision)!;
      const matched: TouchVisit | undefined = e.visit
        ? { sessionId: e.visit.sessionId, visitorId: e.visit.visitorId, startedAtMs: e.visit.startedAtMs, channel: e.visit.channel, utm: e.visit.utm }
        : e.sessionStartedAtMs !== null
          ? { sessionId: session.sessionId, visitorId: session.visitorId, startedAtMs: e.sessionStartedAtMs, channel, utm }
          : undefined;
      path = creditPathOf(visitorVisits, matched, start, e.settings.lookbackDays * DAY_MS);
    }
  }
  return creditsOf(path, start, modelSettingsOf(e.settings), learnt);
}

// ---- versions, event ids and what to write ----

/** Bits of `calls.version` below the report version: settings revision · 2^10 + re-evaluation step. */
const REPORT_SHIFT = 26n;
const SETTINGS_SHIFT = 10n;
const MAX_SETTINGS_REVISION = 2 ** 16 - 1;

/** The first version of a report under a settings revision. */
export function baseVersion(reportVersion: number, settingsRevision: number): bigint {
  return (BigInt(reportVersion) << REPORT_SHIFT) + (BigInt(Math.min(settingsRevision, MAX_SETTINGS_REVISION)) << SETTINGS_SHIFT);
}

/** What is stored of a call (its FINAL row and current credits), to compare and supersede. */
export interface StoredCall {
  row: CallRow;
  credits: CreditRow[];
}

export type EvaluationMode = 'report' | 'reevaluate';

export interface PlannedCall {
  evaluated: EvaluatedCall;
  row: CallRow;
  /** Credit rows to insert (current touches and tombstones); empty when unchanged. */
  credits: CreditRow[];
  /** Publish the CallAttributed (a new report, or what it says changed). */
  publish: boolean;
  event: DomainEvent<'CallAttributed'>;
  /** The lead of the stored row this one supersedes ('' when new): the leads projection recomputes both. */
  previousLeadId: string;
}

/** JSON with every object's keys sorted: a row built in memory and one read back compare alike, whatever their key order. */
export function canonicalJson(value: object): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}

/** Row content that a re-evaluation compares with what is stored (no ids, versions or write times). */
function rowDigest(row: CallRow, withSettingsRevision: boolean): string {
  const { event_id: _e, version: _v, settings_revision: s, ...rest } = row;
  return canonicalJson({ ...rest, ...(withSettingsRevision ? { s } : {}) });
}

/** Credit rows' content, order-free: what a re-evaluation compares with what is stored (calls and enquiries alike). */
export function creditsDigest(
  rows: readonly Pick<
    CreditRow,
    | 'model'
    | 'session_id'
    | 'touch_index'
    | 'touch_count'
    | 'touch_at'
    | 'channel'
    | 'utm_source'
    | 'utm_medium'
    | 'utm_campaign'
    | 'utm_content'
    | 'utm_term'
    | 'credit'
    | 'settings_revision'
    | 'visitor_id'
  >[],
): string {
  const lines = rows
    .map((r) =>
      [
        r.model,
        r.session_id,
        r.visitor_id,
        r.touch_index,
        r.touch_count,
        r.touch_at,
        r.channel,
        r.utm_source,
        r.utm_medium,
        r.utm_campaign,
        r.utm_content,
        r.utm_term,
        r.credit.toFixed(12),
        r.settings_revision,
      ].join('|'),
    )
    .sort();
  return createHash('sha256').update(lines.join('\n')).digest('hex');
}

const iso = (ms: number): string => new Date(ms).toISOString();

function creditRowsOf(e: EvaluatedCall, credits: readonly TouchCredit[], version: bigint): CreditRow[] {
  return touchCreditRows(
    { siteId: e.report.siteId, conversionId: e.report.callId, startedAtMs: e.report.keyStartMs, settingsRevision: e.settings.revision },
    credits,
    version,
  );
}

/** The `attribution_credits` rows of one conversion (a call, or an enquiry under its conversion id). */
export function touchCreditRows(
  conversion: { siteId: string; conversionId: string; startedAtMs: number; settingsRevision: number },
  credits: readonly TouchCredit[],
  version: bigint,
): CreditRow[] {
  const started = iso(conversion.startedAtMs);
  // Every model credits the same touches: format each touch's time once.
  const touchAt = new Map<number, string>();
  // A touch a model gives nothing has no row (single-touch models would triple the rows); touch_count keeps the path length.
  return credits
    .filter((t) => t.credit > 0)
    .map((t) => ({
      site_id: conversion.siteId,
      call_id: conversion.conversionId,
      call_started_at: started,
      model: t.model,
      session_id: t.touch.sessionId,
      visitor_id: t.touch.visitorId,
      touch_index: t.touchIndex,
      touch_count: t.touchCount,
      touch_at: touchAt.get(t.touch.startedAtMs) ?? touchAt.set(t.touch.startedAtMs, iso(t.touch.startedAtMs)).get(t.touch.startedAtMs)!,
      channel: t.touch.channel,
      utm_source: t.touch.utm.source,
      utm_medium: t.touch.utm.medium,
      utm_campaign: t.touch.utm.campaign,
      utm_content: t.touch.utm.content,
      utm_term: t.touch.utm.term,
      credit: t.credit,
      settings_revision: conversion.settingsRevision,
      version,
      is_deleted: 0,
    }));
}

/**
 * Versions, event ids and rows of evaluated calls, against what is stored:
 *
 * - version = report_version · 2^26 + settings revision · 2^10 + step: a new report
 *   starts at step 0 under the settings in force; a re-evaluation that changes anything
 *   takes the next step (or step 0 of a newer settings revision), so it supersedes the
 *   stored row of the same report, and a later report always outranks it.
 * - a new report (mode "report") is always stored and published: under
 *   `<CallScreened id>:attributed` the first time, again under the stored id when nothing
 *   changed (a redelivery), else under `…:attributed:<version>`.
 * - a re-evaluation writes nothing when rows and credits are what is stored; it
 *   publishes `…:attributed:<version>` only when more than the settings revision changed.
 * - credits are written with the call's version when they changed: the current touches
 *   and a tombstone (is_deleted) for each stored touch that is no longer credited.
 */
export function planWrites(
  evaluated: readonly EvaluatedCall[],
  credits: ReadonlyMap<EvaluatedCall, readonly TouchCredit[]>,
  stored: ReadonlyMap<string, StoredCall>,
  mode: EvaluationMode,
): PlannedCall[] {
  const latest = new Map<string, StoredCall>(stored);
  const out: PlannedCall[] = [];
  for (const e of evaluated) {
    const key = `${e.report.siteId}\n${e.report.callId}`;
    const before = latest.get(key);
    const base = baseVersion(e.report.reportVersion, e.settings.revision);
    const meta = { reportVersion: e.report.reportVersion, reportEventId: e.report.reportEventId, sessionStartedAtMs: e.sessionStartedAtMs };
    // Content is compared at a fixed version; the real one is set once decided.
    const draft = callRow(e.event, 0n, e.report.keyStartMs, meta);
    const newCredits = creditRowsOf(e, credits.get(e) ?? [], 0n);
    const sameRow = before !== undefined && rowDigest(before.row, true) === rowDigest(draft, true);
    const samePublic = before !== undefined && rowDigest(before.row, false) === rowDigest(draft, false);
    const sameCredits = before !== undefined && creditsDigest(before.credits) === creditsDigest(newCredits);
    const sameReport = before !== undefined && before.row.report_version === e.report.reportVersion;

    let version: bigint;
    let eventId: string;
    let publish: boolean;
    if (mode === 'report') {
      publish = true;
      if (!before || before.row.report_version < e.report.reportVersion) {
        version = base;
        eventId = derivedEventId(e.report.reportEventId, 'attributed');
      } else if (sameRow && sameCredits) {
        version = before.row.version;
        eventId = before.row.event_id;
      } else {
        version = before.row.version >= base ? before.row.version + 1n : base;
        eventId = derivedEventId(e.report.reportEventId, 'attributed', version);
      }
    } else {
      // A newer report arrived meanwhile: it was (or will be) evaluated itself.
      if (before && before.row.report_version > e.report.reportVersion) continue;
      if (before && sameReport && sameRow && sameCredits && before.row.version >= base) continue;
      version = before && before.row.version >= base ? before.row.version + 1n : base;
      eventId = derivedEventId(e.report.reportEventId, 'attributed', version);
      publish = !samePublic || !sameReport;
    }
    const event: DomainEvent<'CallAttributed'> = { ...e.event, eventId };
    const row = callRow(event, version, e.report.keyStartMs, meta);
    // Unchanged credits need no rewrite under a new row version: their rows stay current.
    let creditRows: CreditRow[] = [];
    if (!(sameCredits && before)) {
      const current = newCredits.map((c) => ({ ...c, version }));
      const kept = new Set(current.map((c) => `${c.model}\n${c.session_id}`));
      const retracted = (before?.credits ?? [])
        .filter((c) => !kept.has(`${c.model}\n${c.session_id}`))
        .map((c) => ({ ...c, credit: 0, version, is_deleted: 1 as const }));
      creditRows = [...current, ...retracted];
    }
    latest.set(key, { row, credits: creditRows.length > 0 ? creditRows.filter((c) => c.is_deleted === 0) : (before?.credits ?? []) });
    out.push({ evaluated: e, row, credits: creditRows, publish, event, previousLeadId: before?.row.lead_id ?? '' });
  }
  return out;
}

/** The HistoryCall a stored row stands for (rules about a caller's other calls read these). */
export function historyOfRow(row: CallRow): HistoryCall {
  return {
    siteId: row.site_id,
    callId: row.call_id,
    direction: row.direction,
    callerNumber: row.caller_number,
    calledNumber: row.called_number,
    startedAtMs: Date.parse(row.started_at ?? '') || 0,
    matchMethod: row.match_method,
    matchConfidence: row.match_confidence,
    sessionId: row.session_id,
    visitorId: row.visitor_id,
    leaseId: row.lease_id,
    sessionStartedAtMs: row.session_started_at ? Date.parse(row.session_started_at) : null,
    ...creditedOriginOfColumns(row),
    leadId: row.lead_id,
    spam: row.verdict === 'spam',
  };
}

const enumValue = (values: object, prefix: string, label: string): number => {
  const entry = Object.entries(values).find(([k]) => k === `${prefix}${label.toUpperCase()}`);
  return typeof entry?.[1] === 'number' ? entry[1] : 0;
};

/** The report a stored row holds, to evaluate it again (re-attribution, call-backs, recompute). */
export function reportOfRow(row: CallRow): CallReport {
  const v = calltrack.events.v1;
  const ms = (t: string | null): number => (t ? Date.parse(t) || 0 : 0);
  const started = ms(row.started_at);
  const answered = ms(row.answered_at);
  const ended = ms(row.ended_at);
  return {
    siteId: row.site_id,
    callId: row.call_id,
    reportEventId: row.report_event_id || row.event_id.replace(/:attributed.*$/, ''),
    call: v.CallReported.fromObject({
      callId: row.call_id,
      provider: row.provider,
      providerCallId: row.provider_call_id,
      trackingNumber: row.tracking_number,
      callerNumber: row.caller_number,
      calledNumber: row.called_number,
      direction: enumValue(v.CallDirection, 'CALL_DIRECTION_', row.direction),
      status: enumValue(v.CallStatus, 'CALL_STATUS_', row.status),
      startedAtMs: started,
      answeredAtMs: answered,
      endedAtMs: ended,
      recordingUrl: row.recording_url,
      sequence: Math.floor(row.report_version / 16),
    }),
    verdict: enumValue(v.Verdict, 'VERDICT_', row.verdict),
    verdictReason: row.verdict_reason,
    keyStartMs: started,
    reportVersion: row.report_version,
    occurredAtMs: Math.max(started, answered, ended),
  };
}

export { isBefore };
