import {
  calltrack,
  callDirectionLabel,
  callStatusLabel,
  classifyChannel,
  matchMethodLabel,
  verdictLabel,
  visitOriginOf,
  type DomainEvent,
} from '@calltrack/contracts';
import type { CallCommentRow, CallRow, CallTagRow, LeaseRow, PromoRedemptionRow, SessionVerdictRow, VisitRow } from './rows.js';
import { analyticsColumns, originColumns } from './origin-columns.js';
import { deadLetter, ok, type StepResult } from '../step-result.js';

// DateTime64 holds 1900-2299; anything outside this window is a producer bug, and one
// such row would make the whole batch's insert fail again and again. A mapper that checks
// its event returns the row or a dead letter naming the first problem found.
const MIN_TIME_MS = Date.UTC(2000, 0, 1);
const MAX_TIME_MS = Date.UTC(2200, 0, 1);
const MAX_ID_LENGTH = 256;

/** Why an epoch-ms time cannot be stored, or undefined when it can; 0/absent is "not set". */
function timeProblem(value: number | null | undefined, field: string, required: boolean): string | undefined {
  const ms = Number(value ?? 0);
  if (ms === 0 && !required) return undefined;
  if (!Number.isSafeInteger(ms) || ms < MIN_TIME_MS || ms >= MAX_TIME_MS) return `${field}: ${String(value)} is not a time between 2000 and 2200 (epoch ms)`;
  return undefined;
}

/** Why an id cannot be stored, or undefined when it can. */
function idProblem(value: string | null | undefined, field: string): string | undefined {
  if (!value) return `${field} is missing`;
  if (value.length > MAX_ID_LENGTH) return `${field} is longer than ${MAX_ID_LENGTH} characters`;
  return undefined;
}

const iso = (ms: number): string | null => (ms ? new Date(ms).toISOString() : null);

/** A visit from SessionStarted (tracking_number, lease_id and is_bot keep their defaults: see the README). */
export function visitRow(event: DomainEvent<'SessionStarted'>): StepResult<VisitRow> {
  const s = event.payload;
  const startedAtMs = Number(s.startedAtMs) || event.occurredAtMs;
  const problem = idProblem(event.siteId, 'site id') ?? idProblem(s.sessionId, 'sessionId') ?? timeProblem(startedAtMs, 'startedAtMs', true);
  if (problem) return deadLetter(problem);
  const origin = visitOriginOf(s);
  // Sessions published before session-tracker classified them are classified here by the same rules.
  origin.channel ||= classifyChannel({
    utmSource: origin.utm.source,
    utmMedium: origin.utm.medium,
    clickIds: origin.clickIds,
    referrer: origin.referrer,
    landingPage: origin.landingPage,
  });
  return ok({
    event_id: event.eventId,
    site_id: event.siteId,
    session_id: s.sessionId,
    visitor_id: s.visitorId,
    started_at: iso(startedAtMs),
    ...originColumns(origin),
    user_agent: s.userAgent,
    client_ip: s.clientIp,
    ...analyticsColumns(origin),
  });
}

/** Version 1 of a lease row: granted, not released. A promo-code lease has a code instead of a number. */
export function grantedLeaseRow(event: DomainEvent<'LeaseGranted'>): StepResult<LeaseRow> {
  const l = event.payload;
  const granted = Number(l.grantedAtMs ?? 0);
  const expires = Number(l.expiresAtMs ?? 0);
  const problem =
    idProblem(event.siteId, 'site id') ??
    timeProblem(l.grantedAtMs, 'grantedAtMs', true) ??
    timeProblem(l.expiresAtMs, 'expiresAtMs', true) ??
    (expires < granted ? 'expiresAtMs is before grantedAtMs' : undefined) ??
    idProblem(l.leaseId, 'leaseId') ??
    (l.promoCode ? undefined : idProblem(l.trackingNumber, 'trackingNumber'));
  if (problem) return deadLetter(problem);
  return ok({
    event_id: event.eventId,
    site_id: event.siteId,
    lease_id: l.leaseId,
    session_id: l.sessionId,
    visitor_id: l.visitorId,
    tracking_number: l.trackingNumber ?? '',
    granted_at: iso(granted),
    expires_at: iso(expires),
    released_at: null,
    version: 1,
    promo_code: l.promoCode ?? '',
  });
}

/** Checks a LeaseExpired before its lease row is looked up: the event itself, or why it is a dead letter. */
export function checkLeaseExpired(event: DomainEvent<'LeaseExpired'>): StepResult<DomainEvent<'LeaseExpired'>> {
  const l = event.payload;
  const problem =
    idProblem(event.siteId, 'site id') ??
    idProblem(l.leaseId, 'leaseId') ??
    (l.promoCode ? undefined : idProblem(l.trackingNumber, 'trackingNumber')) ??
    timeProblem(l.releasedAtMs, 'releasedAtMs', true);
  return problem ? deadLetter(problem) : ok(event);
}

/** Checks a LeaseExtended before its lease row is looked up: the event itself, or why it is a dead letter. */
export function checkLeaseExtended(event: DomainEvent<'LeaseExtended'>): StepResult<DomainEvent<'LeaseExtended'>> {
  const problem = timeProblem(event.payload.expiresAtMs, 'expiresAtMs', true);
  return problem ? deadLetter(problem) : ok(event);
}

// Versions of a lease row: 1 when granted, 2 + the extended lifetime in ms for each
// heartbeat extension (later extensions outrank earlier ones), and RELEASED_VERSION,
// above any extension, once it ended. All rows share the sorting key (site, number,
// granted_at, lease), so ReplacingMergeTree keeps the latest state.
const RELEASED_VERSION = 2 ** 52;

/** The lease row after a heartbeat moved its expiry (an extension checkLeaseExtended accepted). */
export function extendedLeaseRow(lease: LeaseRow, extended: DomainEvent<'LeaseExtended'>): LeaseRow {
  const expiresAtMs = Number(extended.payload.expiresAtMs);
  const grantedAtMs = Date.parse(lease.granted_at ?? '') || 0;
  return { ...lease, event_id: extended.eventId, expires_at: iso(expiresAtMs), version: 2 + Math.max(0, expiresAtMs - grantedAtMs) };
}

/** The final version of a lease row: the lease with its release time (a release checkLeaseExpired accepted). */
export function releasedLeaseRow(granted: LeaseRow, expired: DomainEvent<'LeaseExpired'>): LeaseRow {
  const releasedAtMs = Number(expired.payload.releasedAtMs);
  return { ...granted, event_id: expired.eventId, released_at: iso(releasedAtMs), version: RELEASED_VERSION };
}

export function sessionVerdictRow(event: DomainEvent<'SessionScreened'>): StepResult<SessionVerdictRow> {
  const v = event.payload;
  const problem = idProblem(event.siteId, 'site id') ?? idProblem(v.sessionId, 'sessionId') ?? timeProblem(event.occurredAtMs, 'occurredAtMs', true);
  if (problem) return deadLetter(problem);
  return ok({
    event_id: event.eventId,
    site_id: event.siteId,
    session_id: v.sessionId,
    visitor_id: v.visitorId,
    verdict: verdictLabel(v.verdict),
    reason: v.reason,
    screened_at: iso(event.occurredAtMs),
  });
}

/** The call a CallScreened carries, checked to be storable, or the problem that makes it a dead letter. */
export function readScreenedCall(
  event: DomainEvent<'CallScreened'>,
): StepResult<{ call: calltrack.events.v1.ICallReported; callId: string; trackingNumber: string; startedAtMs: number }> {
  const call = event.payload.call;
  if (!call) return deadLetter('CallScreened without a call');
  // An outbound call (a call-back) is placed from a line of the site, which providers may not name.
  const outbound = call.direction === calltrack.events.v1.CallDirection.CALL_DIRECTION_OUTBOUND;
  // A report without a start time is placed at the time of the event.
  const start = Number(call.startedAtMs) || event.occurredAtMs;
  const problem =
    idProblem(event.siteId, 'site id') ??
    idProblem(call.callId, 'call.callId') ??
    (outbound ? undefined : idProblem(call.trackingNumber, 'call.trackingNumber')) ??
    timeProblem(start, 'call.startedAtMs', true) ??
    timeProblem(call.answeredAtMs, 'call.answeredAtMs', false) ??
    timeProblem(call.endedAtMs, 'call.endedAtMs', false);
  if (problem) return deadLetter(problem);
  return ok({ call, callId: call.callId ?? '', trackingNumber: call.trackingNumber ?? '', startedAtMs: start });
}

const seconds = (fromMs: number, toMs: number): number => (fromMs && toMs > fromMs ? Math.round((toMs - fromMs) / 1000) : 0);

/**
 * The `calls` row of an attributed call. `storedStartedAtMs` is the start of the call's
 * first stored version: started_at is part of the sorting key, and versions of a call only
 * collapse when it does not move, so a later report that moved the start keeps the first.
 */
export function callRow(
  event: DomainEvent<'CallAttributed'>,
  version: bigint | number,
  storedStartedAtMs?: number,
  meta: { reportVersion?: number; reportEventId?: string; sessionStartedAtMs?: number | null } = {},
): CallRow {
  const a = event.payload;
  const k = a.classification ?? {};
  const flag = (b: boolean | null | undefined): 0 | 1 => (b ? 1 : 0);
  const c: calltrack.events.v1.ICallReported = a.call ?? {};
  const started = Number(c.startedAtMs) || event.occurredAtMs;
  const answered = Number(c.answeredAtMs) || 0;
  const ended = Number(c.endedAtMs) || 0;
  return {
    event_id: event.eventId,
    site_id: event.siteId,
    call_id: c.callId ?? '',
    provider: c.provider ?? '',
    provider_call_id: c.providerCallId ?? '',
    tracking_number: c.trackingNumber ?? '',
    caller_number: c.callerNumber ?? '',
    direction: callDirectionLabel(c.direction),
    status: callStatusLabel(c.status),
    started_at: iso(storedStartedAtMs || started),
    answered_at: iso(answered),
    ended_at: iso(ended),
    // Talk time runs from the answer to the end; waiting, until the answer or, for a call
    // nobody answered, the whole ring.
    talk_seconds: answered ? seconds(answered, ended) : 0,
    wait_seconds: answered ? seconds(started, answered) : seconds(started, ended),
    recording_url: c.recordingUrl ?? '',
    verdict: verdictLabel(a.verdict),
    verdict_reason: a.verdictReason,
    match_method: matchMethodLabel(a.method),
    match_reason: a.matchReason,
    source_label: a.sourceLabel ?? '',
    session_id: a.sessionId,
    visitor_id: a.visitorId,
    lease_id: a.leaseId,
    ...originColumns(visitOriginOf(a)),
    is_final: a.final ? 1 : 0,
    called_number: c.calledNumber ?? '',
    match_confidence: a.confidence,
    promo_code: a.promoCode,
    source_call_id: a.sourceCallId,
    session_started_at: iso(meta.sessionStartedAtMs ?? 0),
    caller_type: k.callerType ?? '',
    is_target: flag(k.target),
    is_missed: flag(k.missed),
    callback_status: k.callbackStatus ?? '',
    called_back_at: iso(Number(k.calledBackAtMs ?? 0)),
    callback_call_id: k.callbackCallId ?? '',
    is_outside_hours: flag(k.outsideHours),
    is_holiday: flag(k.holiday),
    lead_id: k.leadId ?? '',
    settings_revision: a.settingsRevision,
    report_version: meta.reportVersion ?? Number(version),
    report_event_id: meta.reportEventId ?? event.causationId,
    version: BigInt(version),
  };
}

/** Columns of `calls` the HTTP API returns, in this order. */
export const CALL_VIEW_COLUMNS = [
  'call_id',
  'site_id',
  'provider',
  'provider_call_id',
  'tracking_number',
  'caller_number',
  'direction',
  'status',
  'started_at',
  'answered_at',
  'ended_at',
  'talk_seconds',
  'wait_seconds',
  'recording_url',
  'verdict',
  'verdict_reason',
  'match_method',
  'match_reason',
  'channel',
  'source_label',
  'session_id',
  'visitor_id',
  'lease_id',
  'utm_source',
  'utm_medium',
  'utm_campaign',
  'utm_content',
  'utm_term',
  'referrer',
  'landing_page',
  'click_ids',
  'is_final',
  'called_number',
  'match_confidence',
  'promo_code',
  'source_call_id',
  'session_started_at',
  'caller_type',
  'is_target',
  'is_missed',
  'callback_status',
  'called_back_at',
  'callback_call_id',
  'is_outside_hours',
  'is_holiday',
  'lead_id',
  'settings_revision',
] as const;

export type CallView = Record<(typeof CALL_VIEW_COLUMNS)[number], unknown>;

/** ClickHouse prints DateTime64 as `YYYY-MM-DD hh:mm:ss.sss` in the column's zone (UTC here); the API speaks ISO 8601. */
export function isoFromClickHouse(value: unknown): string | null {
  if (typeof value !== 'string' || value === '') return null;
  return `${value.replace(' ', 'T')}Z`;
}

/** A `calls` row as the HTTP API returns it: ISO times, numbers and a boolean is_final. */
export function callView(row: Record<string, unknown>): CallView {
  const view = {} as CallView;
  for (const column of CALL_VIEW_COLUMNS) view[column] = row[column];
  view.started_at = isoFromClickHouse(row['started_at']);
  view.answered_at = isoFromClickHouse(row['answered_at']);
  view.ended_at = isoFromClickHouse(row['ended_at']);
  view.talk_seconds = Number(row['talk_seconds'] ?? 0);
  view.wait_seconds = Number(row['wait_seconds'] ?? 0);
  view.is_final = Number(row['is_final']) === 1;
  view.session_started_at = isoFromClickHouse(row['session_started_at']);
  view.called_back_at = isoFromClickHouse(row['called_back_at']);
  view.match_confidence = Number(row['match_confidence'] ?? 0);
  view.settings_revision = Number(row['settings_revision'] ?? 0);
  for (const flag of ['is_target', 'is_missed', 'is_outside_hours', 'is_holiday'] as const) view[flag] = Number(row[flag]) === 1;
  return view;
}

// ---- promo codes, credits, annotations, settings ----

/** A redemption, its lease's grant time not known yet (see withLeaseGrantedAt). */
export function promoRedemptionRow(event: DomainEvent<'PromoCodeRedeemed'>): StepResult<PromoRedemptionRow> {
  const p = event.payload;
  // Number(): an unset int64 decodes as a Long zero, which is truthy.
  const redeemedAtMs = Number(p.redeemedAtMs) || event.occurredAtMs;
  const problem =
    idProblem(event.siteId, 'site id') ??
    (!p.callId && !p.callerNumber ? 'PromoCodeRedeemed names neither a call id nor a caller number' : undefined) ??
    idProblem(p.promoCode, 'promoCode') ??
    idProblem(p.sessionId, 'sessionId') ??
    timeProblem(p.calledAtMs, 'calledAtMs', true) ??
    timeProblem(redeemedAtMs, 'redeemedAtMs', true);
  if (problem) return deadLetter(problem);
  return ok({
    event_id: event.eventId,
    site_id: event.siteId,
    promo_code: p.promoCode,
    session_id: p.sessionId,
    visitor_id: p.visitorId,
    lease_id: p.leaseId,
    call_id: p.callId,
    caller_number: p.callerNumber,
    called_at: iso(Number(p.calledAtMs)),
    redeemed_at: iso(redeemedAtMs),
    redeemed_by: p.redeemedBy,
    lease_granted_at: null,
  });
}

/** The redemption with its lease's grant time (found in `leases`), which bounds the lookup of its visit later. */
export function withLeaseGrantedAt(row: PromoRedemptionRow, leaseGrantedAtMs: number | null): PromoRedemptionRow {
  return { ...row, lease_granted_at: iso(leaseGrantedAtMs ?? 0) };
}

const TAG_PATTERN = /^[a-z0-9][a-z0-9_-]{0,39}$/;

/** A tag added or removed; the event time orders the changes of one tag (version), removal is a tombstone. */
export function callTagRow(event: DomainEvent<'CallTagAdded'> | DomainEvent<'CallTagRemoved'>): StepResult<CallTagRow> {
  const p = event.payload;
  const at = event.occurredAtMs;
  const problem =
    idProblem(event.siteId, 'site id') ??
    (TAG_PATTERN.test(p.tag) ? undefined : `tag "${p.tag.slice(0, 50)}" is not 1-40 of a-z, 0-9, "-", "_"`) ??
    timeProblem(at, 'occurredAtMs', true) ??
    idProblem(p.callId, 'callId');
  if (problem) return deadLetter(problem);
  return ok({
    event_id: event.eventId,
    site_id: event.siteId,
    call_id: p.callId,
    tag: p.tag,
    author: p.author,
    changed_at: iso(at),
    version: at,
    is_deleted: event.type === 'CallTagRemoved' ? 1 : 0,
  });
}

export function callCommentRow(event: DomainEvent<'CallCommentAdded'>): StepResult<CallCommentRow> {
  const p = event.payload;
  const problem =
    idProblem(event.siteId, 'site id') ??
    idProblem(p.callId, 'callId') ??
    idProblem(p.commentId, 'commentId') ??
    timeProblem(event.occurredAtMs, 'occurredAtMs', true);
  if (problem) return deadLetter(problem);
  return ok({
    event_id: event.eventId,
    site_id: event.siteId,
    call_id: p.callId,
    comment_id: p.commentId,
    text: p.text,
    author: p.author,
    created_at: iso(event.occurredAtMs),
  });
}
