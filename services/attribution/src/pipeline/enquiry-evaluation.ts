// Evaluates enquiries (forms, callback requests, chats) the way calls are: origin
// (session, visitor, repeat contact, unmatched), first or repeat contact, lead (across
// calls and enquiries: lead-grouping.ts) and credits under every model (call-credits.ts);
// then the `enquiries` and `attribution_credits` rows, versioned like calls. Pure: the
// lookups are passed in (enquiry-attribution.service.ts reads them once per batch).
import { visitOrigin, type VisitOrigin } from '@calltrack/contracts';
import { modelSettingsOf, type SiteSettings } from '../settings/attribution-settings.js';
import { creditPathOf, creditsOf, type TouchCredit, type TouchVisit } from '../models/call-credits.js';
import { canonicalJson, creditsDigest, touchCreditRows } from './call-evaluation.js';
import type { VisitSource } from '../matching/call-matching.js';
import { ContactIndex, contactBefore, leadOfContact, type Contact, type MatchedContact } from '../leads/lead-grouping.js';
import { enquiryConversionId, type EnquiryCreditRow, type EnquiryRow, type StoredEnquiry } from '../store/rows.js';
import { originColumns } from '../store/origin-columns.js';
import type { LearntWeights } from '../models/attribution-models.js';

const DAY_MS = 86_400_000;
/** A repeat contact is half as sure as the contact it inherits from (like a repeat caller). */
export const REPEAT_CONTACT_CONFIDENCE_FACTOR = 0.5;
/** One enquiry to evaluate: a new EnquiryReceived, or a stored one evaluated again. */
export interface EnquiryReport {
  siteId: string;
  enquiryId: string;
  /** Id of the EnquiryReceived event. */
  eventId: string;
  kind: string;
  occurredAtMs: number;
  receivedAtMs: number;
  /** What the site sent: the tracker's session and visitor ids. */
  givenSessionId: string;
  givenVisitorId: string;
  phone: string;
  email: string;
  name: string;
  message: string;
  pageUrl: string;
  customFields: Record<string, string>;
}

export type EnquiryMatch =
  | { method: 'session'; reason: 'session_id'; visit: VisitSource; confidence: number }
  | { method: 'visitor'; reason: 'visitor_latest_visit' | 'session_not_found_visitor_latest_visit'; visit: VisitSource; confidence: number }
  | { method: 'repeat_contact'; reason: 'repeat_contact'; source: MatchedContact; confidence: number }
  | { method: 'unmatched'; reason: 'session_not_found' | 'no_visits_for_visitor' | 'no_earlier_contact' | 'no_identifiers' };

/** Match methods whose contacts name a visitor a later contact of the same phone may inherit. */
const VISITOR_METHODS = new Set(['dynamic', 'promo_code', 'repeat_caller', 'session', 'visitor', 'repeat_contact']);

const round6 = (x: number): number => Math.round(x * 1e6) / 1e6;

/**
 * The origin of an enquiry, first rule that applies:
 *
 * 1. `session`: the site passed the tracker's session id and that visit is stored — confidence 1.
 * 2. `visitor`: the visitor id (passed, or of a session id not found) has visits (bots
 *    excluded) within the lookback before the enquiry: the latest of them — confidence 1
 *    (the visitor is certain; the models spread the credit over their path).
 * 3. `repeat_contact`: the contact phone made an earlier call or enquiry within the lookback
 *    that was matched to a visitor: the latest one's origin — half its confidence.
 * 4. `unmatched`, with the reason of the most specific identifier that failed.
 *
 * `visitorVisits` are the visits (oldest first) of the visitor ids named; `sessionVisit`
 * the visit of the session id, when stored.
 */
export function matchEnquiry(
  e: EnquiryReport,
  sessionVisit: VisitSource | undefined,
  latestVisitOf: (visitorId: string) => VisitSource | undefined,
  earlier: readonly MatchedContact[],
  lookbackMs: number,
): EnquiryMatch {
  if (e.givenSessionId && sessionVisit) return { method: 'session', reason: 'session_id', visit: sessionVisit, confidence: 1 };
  if (e.givenVisitorId) {
    const visit = latestVisitOf(e.givenVisitorId);
    if (visit) return { method: 'visitor', reason: e.givenSessionId ? 'session_not_found_visitor_latest_visit' : 'visitor_latest_visit', visit, confidence: 1 };
  }
  const self = { id: enquiryConversionId(e.enquiryId), atMs: e.occurredAtMs };
  if (e.phone) {
    let best: MatchedContact | undefined;
    for (const c of earlier) {
      if (c.phone !== e.phone || !c.inbound || !c.visitorId || !VISITOR_METHODS.has(c.matchMethod)) continue;
      if (c.id === self.id || !contactBefore(c, self) || self.atMs - c.atMs > lookbackMs) continue;
      if (!best || contactBefore(best, c)) best = c;
    }
    if (best)
      return { method: 'repeat_contact', reason: 'repeat_contact', source: best, confidence: round6(best.matchConfidence * REPEAT_CONTACT_CONFIDENCE_FACTOR) };
  }
  const reason = e.givenSessionId ? 'session_not_found' : e.givenVisitorId ? 'no_visits_for_visitor' : e.phone ? 'no_earlier_contact' : 'no_identifiers';
  return { method: 'unmatched', reason };
}

/** The visitor's latest visit that started within `lookbackMs` before `atMs` (a minute of clock skew after it is allowed). */
export function latestVisitWithin(visits: readonly VisitSource[], atMs: number, lookbackMs: number): VisitSource | undefined {
  let best: VisitSource | undefined;
  for (const v of visits) {
    if (v.startedAtMs > atMs + 60_000 || atMs - v.startedAtMs > lookbackMs) continue;
    if (!best || v.startedAtMs > best.startedAtMs || (v.startedAtMs === best.startedAtMs && v.sessionId > best.sessionId)) best = v;
  }
  return best;
}

export interface EvaluatedEnquiry {
  report: EnquiryReport;
  match: EnquiryMatch;
  settings: SiteSettings;
  row: EnquiryRow;
  /** The touch the enquiry is matched to, for its credit path. */
  matchedTouch: TouchVisit | undefined;
}

const iso = (ms: number): string => new Date(ms).toISOString();
/** The matched session and the origin an enquiry is credited to (a repeat contact: as that contact was credited). */
function matchedOriginOf(m: EnquiryMatch): {
  session: Pick<EnquiryRow, 'session_id' | 'visitor_id' | 'session_started_at' | 'source_conversion_id'>;
  origin: VisitOrigin;
} {
  switch (m.method) {
    case 'session':
    case 'visitor': {
      const v = m.visit;
      return {
        session: { session_id: v.sessionId, visitor_id: v.visitorId, session_started_at: iso(v.startedAtMs), source_conversion_id: '' },
        origin: visitOrigin(v),
      };
    }
    case 'repeat_contact': {
      const s = m.source;
      return {
        session: {
          session_id: s.sessionId,
          visitor_id: s.visitorId,
          session_started_at: s.sessionStartedAtMs === null ? null : iso(s.sessionStartedAtMs),
          source_conversion_id: s.id,
        },
        origin: visitOrigin(s),
      };
    }
    case 'unmatched':
      return { session: { session_id: '', visitor_id: '', session_started_at: null, source_conversion_id: '' }, origin: visitOrigin() };
  }
}

/**
 * Evaluates enquiries in contact order: each sees `contacts` (the people's stored calls and
 * enquiries, without the ones being evaluated) plus the enquiries before it in the batch.
 */
export function evaluateEnquiries(
  reports: readonly EnquiryReport[],
  lookups: {
    settings(siteId: string): SiteSettings;
    sessionVisit(siteId: string, sessionId: string): VisitSource | undefined;
    visitorVisits(siteId: string, visitorId: string): readonly VisitSource[];
    contacts(siteId: string): readonly MatchedContact[];
  },
): EvaluatedEnquiry[] {
  const ordered = [...reports].sort((a, b) => a.occurredAtMs - b.occurredAtMs || (a.enquiryId < b.enquiryId ? -1 : a.enquiryId > b.enquiryId ? 1 : 0));
  // Each site's inbound contacts by person (stored ones, then the batch's as evaluated): scanning
  // every contact of the site for each enquiry was quadratic in a backlog. Outbound calls match nothing here.
  const indexes = new Map<string, ContactIndex<MatchedContact>>();
  const contactsOfSite = (siteId: string): ContactIndex<MatchedContact> => {
    let index = indexes.get(siteId);
    if (!index) indexes.set(siteId, (index = new ContactIndex(lookups.contacts(siteId).filter((c) => c.inbound))));
    return index;
  };
  const out: EvaluatedEnquiry[] = [];
  for (const e of ordered) {
    const settings = lookups.settings(e.siteId);
    const lookbackMs = settings.lookbackDays * DAY_MS;
    const id = enquiryConversionId(e.enquiryId);
    const index = contactsOfSite(e.siteId);
    const others = index.ofPerson({ phone: e.phone, visitorId: '' }).filter((c) => c.id !== id);
    const match = matchEnquiry(
      e,
      e.givenSessionId ? lookups.sessionVisit(e.siteId, e.givenSessionId) : undefined,
      (visitorId) => latestVisitWithin(lookups.visitorVisits(e.siteId, visitorId), e.occurredAtMs, lookbackMs),
      others,
      lookbackMs,
    );
    const { session, origin } = matchedOriginOf(match);
    const { analyticsIds: _ids, ...credited } = origin;
    // The person: the phone, and the visitor matched (or, unmatched, the one the site named).
    const person = { phone: e.phone, visitorId: session.visitor_id || e.givenVisitorId };
    const self: Contact = { id, kind: 'enquiry', ...person, atMs: e.occurredAtMs, leadId: '' };
    const repeatMs = settings.repeatCallerWindowDays * DAY_MS;
    const earlierOfPerson = index.ofPerson(self).filter((c) => c.id !== id && contactBefore(c, self));
    const contactType = !person.phone && !person.visitorId ? '' : earlierOfPerson.some((c) => e.occurredAtMs - c.atMs <= repeatMs) ? 'repeat' : 'first';
    const leadId = leadOfContact(self, index, settings.leadWindowDays * DAY_MS);
    const row: EnquiryRow = {
      event_id: e.eventId,
      site_id: e.siteId,
      enquiry_id: e.enquiryId,
      kind: e.kind,
      occurred_at: iso(e.occurredAtMs),
      received_at: iso(e.receivedAtMs),
      given_session_id: e.givenSessionId,
      given_visitor_id: e.givenVisitorId,
      contact_phone: e.phone,
      contact_email: e.email,
      contact_name: e.name,
      message: e.message,
      page_url: e.pageUrl,
      custom_fields: { ...e.customFields },
      match_method: match.method,
      match_reason: match.reason,
      match_confidence: match.method === 'unmatched' ? 0 : match.confidence,
      ...session,
      ...originColumns(origin),
      contact_type: contactType,
      lead_id: leadId,
      settings_revision: settings.revision,
      version: 0n,
    };
    const matchedTouch: TouchVisit | undefined =
      match.method === 'unmatched' || !row.session_id || row.session_started_at === null
        ? undefined
        : {
            sessionId: row.session_id,
            visitorId: row.visitor_id,
            startedAtMs: Date.parse(row.session_started_at),
            channel: origin.channel,
            utm: { ...origin.utm },
          };
    index.add({
      ...self,
      leadId,
      inbound: true,
      matchMethod: match.method,
      matchConfidence: row.match_confidence,
      sessionId: row.session_id,
      sessionStartedAtMs: matchedTouch?.startedAtMs ?? null,
      ...credited,
    });
    out.push({ report: e, match, settings, row, matchedTouch });
  }
  return out;
}

/** Credits of an enquiry under every model over the visitor's path (an unmatched one has none). */
export function creditsForEnquiry(e: EvaluatedEnquiry, visitorVisits: readonly TouchVisit[], learnt: LearntWeights): TouchCredit[] {
  if (!e.matchedTouch) return [];
  const path = creditPathOf(visitorVisits, e.matchedTouch, e.report.occurredAtMs, e.settings.lookbackDays * DAY_MS);
  return creditsOf(path, e.report.occurredAtMs, modelSettingsOf(e.settings), learnt);
}

function creditRowsOf(e: EvaluatedEnquiry, credits: readonly TouchCredit[], version: bigint): EnquiryCreditRow[] {
  const conversion = {
    siteId: e.report.siteId,
    conversionId: enquiryConversionId(e.report.enquiryId),
    startedAtMs: e.report.occurredAtMs,
    settingsRevision: e.settings.revision,
  };
  return touchCreditRows(conversion, credits, version).map((row) => ({ ...row, conversion_kind: 'enquiry' as const }));
}

export interface PlannedEnquiry {
  evaluated: EvaluatedEnquiry;
  row: EnquiryRow;
  credits: EnquiryCreditRow[];
  /** The lead the stored row had ('' when new): that lead's row must be recomputed too. */
  previousLeadId: string;
}

const SETTINGS_SHIFT = 10n;
const MAX_SETTINGS_REVISION = 2 ** 16 - 1;
export const enquiryBaseVersion = (settingsRevision: number): bigint => BigInt(Math.min(settingsRevision, MAX_SETTINGS_REVISION)) << SETTINGS_SHIFT;

function rowDigest(row: EnquiryRow): string {
  const { version: _v, ...rest } = row;
  return canonicalJson(rest);
}

/**
 * Versions and rows against what is stored. version = settings revision · 2^10 + step.
 * A new enquiry whose id is stored already is a duplicate: nothing is written (the first
 * one stays). A re-evaluation writes only what changed, at the next step (or step 0 of a
 * newer settings revision); credits a touch no longer gets are retracted (is_deleted).
 */
export function planEnquiryWrites(
  evaluated: readonly EvaluatedEnquiry[],
  credits: ReadonlyMap<EvaluatedEnquiry, readonly TouchCredit[]>,
  stored: ReadonlyMap<string, StoredEnquiry>,
  mode: 'report' | 'reevaluate',
): PlannedEnquiry[] {
  const out: PlannedEnquiry[] = [];
  for (const e of evaluated) {
    const before = stored.get(`${e.report.siteId}\n${e.report.enquiryId}`);
    if (mode === 'report' && before) continue;
    const base = enquiryBaseVersion(e.settings.revision);
    const newCredits = creditRowsOf(e, credits.get(e) ?? [], 0n);
    const sameRow = before !== undefined && rowDigest({ ...before.row, version: 0n }) === rowDigest(e.row);
    const sameCredits = before !== undefined && creditsDigest(before.credits) === creditsDigest(newCredits);
    if (before && sameRow && sameCredits && before.row.version >= base) continue;
    const version = before && before.row.version >= base ? before.row.version + 1n : base;
    let creditRows: EnquiryCreditRow[] = [];
    if (!(before && sameCredits)) {
      const current = newCredits.map((c) => ({ ...c, version }));
      const kept = new Set(current.map((c) => `${c.model}\n${c.session_id}`));
      const retracted = (before?.credits ?? [])
        .filter((c) => !kept.has(`${c.model}\n${c.session_id}`))
        .map((c) => ({ ...c, credit: 0, version, is_deleted: 1 as const }));
      creditRows = [...current, ...retracted];
    }
    out.push({ evaluated: e, row: { ...e.row, version }, credits: creditRows, previousLeadId: before?.row.lead_id ?? '' });
  }
  return out;
}
