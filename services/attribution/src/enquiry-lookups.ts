import { Injectable } from '@nestjs/common';
import { AttributionStore, nullableNum, num, str, TIME } from './attribution-store.js';
import { humanVisitsOfVisitors, STORED_CREDIT_COLUMNS, storedCreditRow, touchVisitOf } from './call-lookups.js';
import type { VisitSource } from './call-matching.js';
import { enquiryConversionId, type EnquiryCreditRow, type EnquiryRow, type MatchedContact, type StoredEnquiry } from './enquiry-evaluation.js';
import type { LeadMember } from './lead-grouping.js';

const iso = (v: unknown): string | null => (v === null || v === undefined ? null : new Date(Number(v)).toISOString());
const unique = <T>(values: readonly T[]): T[] => [...new Set(values)];
const pairKey = (siteId: string, id: string): string => `${siteId}\n${id}`;
const nonEmpty = (values: readonly string[]): string[] => unique(values.filter((v) => v !== ''));
/** An Array(String) parameter may not be empty in every engine version: a value no column holds stands in. */
const orNone = (values: string[]): string[] => (values.length > 0 ? values : ['\u0000']);

/** Every column of an `enquiries` row, times as epoch ms. */
const ENQUIRY_COLUMNS = `event_id, site_id, enquiry_id, kind, toUnixTimestamp64Milli(occurred_at) AS occurred_ms, toUnixTimestamp64Milli(received_at) AS received_ms,
  given_session_id, given_visitor_id, contact_phone, contact_email, contact_name, message, page_url, custom_fields,
  match_method, match_reason, match_confidence, source_conversion_id, session_id, visitor_id, toUnixTimestamp64Milli(session_started_at) AS session_started_ms,
  channel, utm_source, utm_medium, utm_campaign, utm_content, utm_term, referrer, landing_page, click_ids, contact_type, lead_id, settings_revision, version`;

export function enquiryRowOf(r: Record<string, unknown>): EnquiryRow {
  return {
    event_id: str(r['event_id']),
    site_id: str(r['site_id']),
    enquiry_id: str(r['enquiry_id']),
    kind: str(r['kind']),
    occurred_at: iso(r['occurred_ms'])!,
    received_at: iso(r['received_ms'])!,
    given_session_id: str(r['given_session_id']),
    given_visitor_id: str(r['given_visitor_id']),
    contact_phone: str(r['contact_phone']),
    contact_email: str(r['contact_email']),
    contact_name: str(r['contact_name']),
    message: str(r['message']),
    page_url: str(r['page_url']),
    custom_fields: { ...((r['custom_fields'] ?? {}) as Record<string, string>) },
    match_method: str(r['match_method']),
    match_reason: str(r['match_reason']),
    match_confidence: num(r['match_confidence']),
    source_conversion_id: str(r['source_conversion_id']),
    session_id: str(r['session_id']),
    visitor_id: str(r['visitor_id']),
    session_started_at: iso(r['session_started_ms']),
    channel: str(r['channel']),
    utm_source: str(r['utm_source']),
    utm_medium: str(r['utm_medium']),
    utm_campaign: str(r['utm_campaign']),
    utm_content: str(r['utm_content']),
    utm_term: str(r['utm_term']),
    referrer: str(r['referrer']),
    landing_page: str(r['landing_page']),
    click_ids: { ...((r['click_ids'] ?? {}) as Record<string, string>) },
    contact_type: str(r['contact_type']),
    lead_id: str(r['lead_id']),
    settings_revision: num(r['settings_revision']),
    version: BigInt(str(r['version']) || '0'),
  };
}

/** A stored enquiry as an earlier contact of its person. */
export function contactOfEnquiry(row: EnquiryRow): MatchedContact {
  return {
    id: enquiryConversionId(row.enquiry_id),
    kind: 'enquiry',
    phone: row.contact_phone,
    visitorId: row.visitor_id || row.given_visitor_id,
    atMs: Date.parse(row.occurred_at),
    leadId: row.lead_id,
    inbound: true,
    matchMethod: row.match_method,
    matchConfidence: row.match_confidence,
    sessionId: row.session_id,
    sessionStartedAtMs: row.session_started_at ? Date.parse(row.session_started_at) : null,
    channel: row.channel,
    utm: { source: row.utm_source, medium: row.utm_medium, campaign: row.utm_campaign, content: row.utm_content, term: row.utm_term },
    referrer: row.referrer,
    landingPage: row.landing_page,
    clickIds: { ...row.click_ids },
  };
}

const CONTACT_CALL_COLUMNS = `call_id, caller_number, visitor_id, toUnixTimestamp64Milli(started_at) AS started_ms, lead_id, direction, match_method, match_confidence, session_id,
  toUnixTimestamp64Milli(session_started_at) AS session_started_ms, channel, utm_source, utm_medium, utm_campaign, utm_content, utm_term, referrer, landing_page, click_ids,
  is_target, is_missed, site_id`;

function contactOfCall(r: Record<string, unknown>): MatchedContact {
  return {
    id: str(r['call_id']),
    kind: 'call',
    phone: str(r['caller_number']),
    visitorId: str(r['visitor_id']),
    atMs: num(r['started_ms']),
    leadId: str(r['lead_id']),
    inbound: str(r['direction']) !== 'outbound',
    matchMethod: str(r['match_method']),
    matchConfidence: num(r['match_confidence']),
    sessionId: str(r['session_id']),
    sessionStartedAtMs: nullableNum(r['session_started_ms']),
    channel: str(r['channel']),
    utm: {
      source: str(r['utm_source']),
      medium: str(r['utm_medium']),
      campaign: str(r['utm_campaign']),
      content: str(r['utm_content']),
      term: str(r['utm_term']),
    },
    referrer: str(r['referrer']),
    landingPage: str(r['landing_page']),
    clickIds: { ...((r['click_ids'] ?? {}) as Record<string, string>) },
  };
}

/** A stored lead row's key fields (to retract it). */
export interface StoredLeadKey {
  siteId: string;
  leadId: string;
  firstContactAt: string;
}

/**
 * The reads of enquiry evaluation and of the leads projection, each one query for a whole
 * batch: stored enquiries and their credits, the contacts (calls and enquiries) of the
 * people involved, visitors' visits, and the members of leads.
 */
@Injectable()
export class EnquiryLookups {
  constructor(private readonly store: AttributionStore) {}

  async enquiries(where: string, params: Record<string, unknown>, tail = ''): Promise<EnquiryRow[]> {
    const rows = await this.store.query<Record<string, unknown>>(`SELECT ${ENQUIRY_COLUMNS} FROM enquiries FINAL WHERE ${where} ${tail}`, params);
    return rows.map(enquiryRowOf);
  }

  /** Stored rows and current credits of enquiries that occurred in [fromMs, toMs], by `${siteId}\n${enquiryId}`. */
  async stored(keys: ReadonlyArray<{ siteId: string; enquiryId: string }>, fromMs: number, toMs: number): Promise<Map<string, StoredEnquiry>> {
    const out = new Map<string, StoredEnquiry>();
    if (keys.length === 0) return out;
    const sites = unique(keys.map((k) => k.siteId));
    const rows = await this.enquiries(
      `site_id IN {sites:Array(String)} AND enquiry_id IN {ids:Array(String)} AND occurred_at >= ${TIME('from')} AND occurred_at <= ${TIME('to')}`,
      {
        sites,
        ids: unique(keys.map((k) => k.enquiryId)),
        from: fromMs,
        to: toMs,
      },
    );
    if (rows.length === 0) return out;
    const credits = await this.store.query<Record<string, unknown>>(
      `SELECT ${STORED_CREDIT_COLUMNS}
       FROM attribution_credits FINAL
       WHERE site_id IN {sites:Array(String)} AND conversion_kind = 'enquiry' AND call_id IN {ids:Array(String)} AND call_started_at >= ${TIME('from')} AND call_started_at <= ${TIME('to')}`,
      { sites, ids: rows.map((r) => enquiryConversionId(r.enquiry_id)), from: fromMs, to: toMs },
    );
    const byConversion = new Map<string, EnquiryCreditRow[]>();
    for (const r of credits) {
      const key = pairKey(str(r['site_id']), str(r['call_id']));
      const list = byConversion.get(key) ?? [];
      list.push({ ...storedCreditRow(r), conversion_kind: 'enquiry' });
      byConversion.set(key, list);
    }
    for (const row of rows)
      out.set(pairKey(row.site_id, row.enquiry_id), { row, credits: byConversion.get(pairKey(row.site_id, enquiryConversionId(row.enquiry_id))) ?? [] });
    return out;
  }

  /** Calls (inbound) and enquiries of the given phones or visitors in [fromMs, toMs]: the people's contacts. */
  async contacts(
    siteIds: readonly string[],
    phones: readonly string[],
    visitors: readonly string[],
    fromMs: number,
    toMs: number,
  ): Promise<Array<MatchedContact & { siteId: string }>> {
    const p = nonEmpty(phones);
    const v = nonEmpty(visitors);
    if (siteIds.length === 0 || (p.length === 0 && v.length === 0)) return [];
    const params = { sites: unique(siteIds), phones: orNone(p), visitors: orNone(v), from: fromMs, to: toMs };
    const [calls, enquiries] = await Promise.all([
      this.store.query<Record<string, unknown>>(
        `SELECT ${CONTACT_CALL_COLUMNS} FROM calls FINAL
         WHERE site_id IN {sites:Array(String)} AND direction != 'outbound' AND verdict != 'spam' AND started_at >= ${TIME('from')} AND started_at <= ${TIME('to')}
           AND (caller_number IN {phones:Array(String)} OR visitor_id IN {visitors:Array(String)})`,
        params,
      ),
      this.enquiries(
        `site_id IN {sites:Array(String)} AND occurred_at >= ${TIME('from')} AND occurred_at <= ${TIME('to')}
         AND (contact_phone IN {phones:Array(String)} OR visitor_id IN {visitors:Array(String)} OR given_visitor_id IN {visitors:Array(String)})`,
        params,
      ),
    ]);
    return [
      ...calls.map((r) => ({ ...contactOfCall(r), siteId: str(r['site_id']) })),
      ...enquiries.map((r) => ({ ...contactOfEnquiry(r), siteId: r.site_id })),
    ];
  }

  /** Visits (bots excluded) of visitors that started in [fromMs, toMs], oldest first, by `${siteId}\n${visitorId}`. */
  async visitorVisits(keys: ReadonlyArray<{ siteId: string; visitorId: string }>, fromMs: number, toMs: number): Promise<Map<string, VisitSource[]>> {
    const rows = await humanVisitsOfVisitors(this.store, keys, fromMs, toMs, 'referrer, landing_page, click_ids, ga_client_id, ym_uid, fbp, fbc');
    return new Map(
      [...rows].map(([key, visits]) => [
        key,
        visits.map((r) => ({
          ...touchVisitOf(r),
          referrer: str(r['referrer']),
          landingPage: str(r['landing_page']),
          clickIds: { ...((r['click_ids'] ?? {}) as Record<string, string>) },
          analyticsIds: { gaClientId: str(r['ga_client_id']), ymUid: str(r['ym_uid']), fbp: str(r['fbp']), fbc: str(r['fbc']) },
        })),
      ]),
    );
  }

  /** Later enquiries of the people (phones or visitors) that occurred in [fromMs, toMs]: their lead or contact type may change. */
  async enquiriesOfPeople(
    siteIds: readonly string[],
    phones: readonly string[],
    visitors: readonly string[],
    fromMs: number,
    toMs: number,
  ): Promise<EnquiryRow[]> {
    const p = nonEmpty(phones);
    const v = nonEmpty(visitors);
    if (siteIds.length === 0 || (p.length === 0 && v.length === 0)) return [];
    return this.enquiries(
      `site_id IN {sites:Array(String)} AND occurred_at >= ${TIME('from')} AND occurred_at <= ${TIME('to')}
       AND (contact_phone IN {phones:Array(String)} OR visitor_id IN {visitors:Array(String)} OR given_visitor_id IN {visitors:Array(String)})`,
      { sites: unique(siteIds), phones: orNone(p), visitors: orNone(v), from: fromMs, to: toMs },
    );
  }

  /** The contacts of the given leads of a site, as lead rows summarise them. */
  async leadMembers(siteId: string, leadIds: readonly string[]): Promise<Map<string, LeadMember[]>> {
    const out = new Map<string, LeadMember[]>();
    const ids = nonEmpty(leadIds);
    if (ids.length === 0) return out;
    const [calls, enquiries] = await Promise.all([
      this.store.query<Record<string, unknown>>(
        `SELECT call_id, caller_number, visitor_id, toUnixTimestamp64Milli(started_at) AS started_ms, lead_id, is_target, is_missed,
                channel, utm_source, utm_medium, utm_campaign, utm_term
         FROM calls FINAL WHERE site_id = {site:String} AND direction != 'outbound' AND verdict != 'spam' AND lead_id IN {ids:Array(String)}`,
        { site: siteId, ids },
      ),
      this.store.query<Record<string, unknown>>(
        `SELECT enquiry_id, contact_phone, visitor_id, given_visitor_id, toUnixTimestamp64Milli(occurred_at) AS occurred_ms, lead_id,
                channel, utm_source, utm_medium, utm_campaign, utm_term
         FROM enquiries FINAL WHERE site_id = {site:String} AND lead_id IN {ids:Array(String)}`,
        { site: siteId, ids },
      ),
    ]);
    const add = (leadId: string, m: LeadMember): void => {
      const list = out.get(leadId) ?? [];
      list.push(m);
      out.set(leadId, list);
    };
    const utmOf = (r: Record<string, unknown>) => ({
      source: str(r['utm_source']),
      medium: str(r['utm_medium']),
      campaign: str(r['utm_campaign']),
      term: str(r['utm_term']),
    });
    for (const r of calls) {
      add(str(r['lead_id']), {
        id: str(r['call_id']),
        kind: 'call',
        atMs: num(r['started_ms']),
        phone: str(r['caller_number']),
        visitorId: str(r['visitor_id']),
        target: num(r['is_target']) === 1,
        missed: num(r['is_missed']) === 1,
        channel: str(r['channel']),
        utm: utmOf(r),
      });
    }
    for (const r of enquiries) {
      add(str(r['lead_id']), {
        id: enquiryConversionId(str(r['enquiry_id'])),
        kind: 'enquiry',
        atMs: num(r['occurred_ms']),
        phone: str(r['contact_phone']),
        visitorId: str(r['visitor_id']) || str(r['given_visitor_id']),
        target: false,
        missed: false,
        channel: str(r['channel']),
        utm: utmOf(r),
      });
    }
    return out;
  }

  /** Stored (not deleted) lead rows of a site by id: the ones to retract when they lost every contact. */
  async storedLeads(siteId: string, leadIds: readonly string[]): Promise<StoredLeadKey[]> {
    const ids = nonEmpty(leadIds);
    if (ids.length === 0) return [];
    const rows = await this.store.query<Record<string, unknown>>(
      `SELECT lead_id, toUnixTimestamp64Milli(first_contact_at) AS first_ms FROM leads FINAL WHERE site_id = {site:String} AND lead_id IN {ids:Array(String)}`,
      { site: siteId, ids },
    );
    return rows.map((r) => ({ siteId, leadId: str(r['lead_id']), firstContactAt: iso(r['first_ms'])! }));
  }
}
