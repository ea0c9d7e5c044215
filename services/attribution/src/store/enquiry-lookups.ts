import { Injectable } from '@nestjs/common';
import { AttributionStore } from './attribution-store.js';
import { humanVisitsOfVisitors, STORED_CREDIT_COLUMNS, storedCreditRow, touchVisitOf } from './call-lookups.js';
import type { VisitSource } from '../matching/call-matching.js';
import type { LeadMember } from '../leads/lead-grouping.js';
import { type EnquiryCreditRow, type EnquiryRow, type StoredEnquiry, enquiryConversionId } from './rows.js';
import type { MatchedContact } from '../leads/lead-grouping.js';
import { TIME, nullableNum, num, str } from './values.js';
import { ANALYTICS_COLUMNS, ORIGIN_COLUMNS, creditedOriginOfColumns, originColumns, originOfColumns } from './origin-columns.js';

const iso = (v: unknown): string | null => (v === null || v === undefined ? null : new Date(Number(v)).toISOString());
const unique = <T>(values: readonly T[]): T[] => [...new Set(values)];
const pairKey = (siteId: string, id: string): string => `${siteId}\n${id}`;
const nonEmpty = (values: readonly string[]): string[] => unique(values.filter((v) => v !== ''));
/** An Array(String) parameter may not be empty in every engine version: a value no column holds stands in. */
const orNone = (values: string[]): string[] => (values.length > 0 ? values : ['\u0000']);
const ENQUIRY_PREFIX = enquiryConversionId('');

/** Every column of an `enquiries` row, times as epoch ms. */
const ENQUIRY_COLUMNS = `event_id, site_id, enquiry_id, kind, toUnixTimestamp64Milli(occurred_at) AS occurred_ms,
  toUnixTimestamp64Milli(received_at) AS received_ms,
  given_session_id, given_visitor_id, contact_phone, contact_email, contact_name, message, page_url, custom_fields,
  match_method, match_reason, match_confidence, source_conversion_id, session_id, visitor_id, toUnixTimestamp64Milli(session_started_at) AS session_started_ms,
  ${ORIGIN_COLUMNS}, contact_type, lead_id, settings_revision, version`;

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
    ...originColumns(originOfColumns(r)),
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
    ...creditedOriginOfColumns(row),
  };
}

const CONTACT_CALL_COLUMNS = `call_id, caller_number, visitor_id, toUnixTimestamp64Milli(started_at) AS started_ms, lead_id, direction, match_method,
  match_confidence, session_id,
  toUnixTimestamp64Milli(session_started_at) AS session_started_ms, ${ORIGIN_COLUMNS}, is_target, is_missed, site_id`;

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
    ...creditedOriginOfColumns(r),
  };
}

/**
 * A contact being placed in its lead: its person (phone, visitor) and where it stands
 * (contact order: time, then id). Its person's latest earlier contact decides its lead.
 */
export interface ContactProbe {
  siteId: string;
  phone: string;
  visitorId: string;
  atMs: number;
  id: string;
}

/** The people whose stored contacts a batch may read: the old whole-window read's filter, kept so results stay the same. */
export interface ContactPeople {
  siteIds: readonly string[];
  phones: readonly string[];
  visitors: readonly string[];
}

/** What lead rows summarise of a lead's members when read as aggregates: the counts, and the members that decide the rest. */
export interface LeadMembersDigest {
  /** The first and last member of each table, and the first with a phone, a visitor and a source. */
  members: LeadMember[];
  counts: { calls: number; targetCalls: number; missedCalls: number; enquiries: number };
}

/** The person keys of a contact as one string each (site, kind, value): how the probe queries join contacts to probes. */
const personKeysOf = (siteId: string, phone: string, visitorId: string): string[] => [
  ...(phone ? [`${siteId}\np${phone}`] : []),
  ...(visitorId ? [`${siteId}\nv${visitorId}`] : []),
];

/** The probes as parallel arrays (one entry per probe and person key), numbered for GROUP BY. */
function probeParams(probes: readonly ContactProbe[]): { persons: string[]; ats: number[]; ids: string[] } {
  const persons: string[] = [];
  const ats: number[] = [];
  const ids: string[] = [];
  for (const p of probes) {
    for (const key of personKeysOf(p.siteId, p.phone, p.visitorId)) {
      persons.push(key);
      ats.push(p.atMs);
      ids.push(p.id);
    }
  }
  return { persons, ats, ids };
}

/** The probes as a table (n, person, at_ms, id) to join on. */
const PROBES_TABLE = `(SELECT t.1 AS n, t.2 AS person, t.3 AS at_ms, t.4 AS id
   FROM (SELECT arrayJoin(arrayZip(range(length({persons:Array(String)})), {persons:Array(String)}, {ats:Array(Int64)}, {ids:Array(String)})) AS t))`;

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
       WHERE site_id IN {sites:Array(String)} AND conversion_kind = 'enquiry' AND call_id IN {ids:Array(String)}
         AND call_started_at >= ${TIME('from')} AND call_started_at <= ${TIME('to')}`,
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
         WHERE site_id IN {sites:Array(String)} AND direction != 'outbound' AND verdict != 'spam' AND started_at >= ${TIME('from')}
           AND started_at <= ${TIME('to')}
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

  /**
   * For each probe and each of its person keys, the person's latest stored contact before
   * it (contact order) among those `contacts` would return for `people` in [fromMs, toMs],
   * leaving out the calls in `excluded` (`${siteId}\n${callId}`): what a contact's lead is
   * decided from. ClickHouse picks them, so a person with thousands of contacts costs a few
   * rows, not a whole history per batch. Ties in time are broken by id in ClickHouse's byte
   * order, which is JavaScript's string order for every id short of mixing characters above
   * U+E000 with ones beyond U+FFFF.
   */
  async latestContactsBefore(
    people: ContactPeople,
    probes: readonly ContactProbe[],
    fromMs: number,
    toMs: number,
    excluded: readonly string[],
  ): Promise<Array<MatchedContact & { siteId: string }>> {
    const p = nonEmpty(people.phones);
    const v = nonEmpty(people.visitors);
    const probed = probeParams(probes);
    if (people.siteIds.length === 0 || (p.length === 0 && v.length === 0) || probed.persons.length === 0) return [];
    const params = {
      sites: unique(people.siteIds),
      phones: orNone(p),
      visitors: orNone(v),
      from: fromMs,
      to: toMs,
      excluded: orNone([...excluded]),
      ...probed,
    };
    const [calls, enquiries] = await Promise.all([
      this.store.query<{ site_id: string; id: string }>(
        `SELECT DISTINCT site_id, id FROM (
           SELECT any(c.site_id) AS site_id, argMax(c.call_id, (c.at_ms, c.call_id)) AS id
           FROM (
             SELECT site_id, call_id, toUnixTimestamp64Milli(started_at) AS at_ms,
                    arrayJoin([concat(site_id, '\np', caller_number), concat(site_id, '\nv', visitor_id)]) AS person
             FROM calls FINAL
             WHERE site_id IN {sites:Array(String)} AND direction != 'outbound' AND verdict != 'spam' AND started_at >= ${TIME('from')}
               AND started_at <= ${TIME('to')}
               AND (caller_number IN {phones:Array(String)} OR visitor_id IN {visitors:Array(String)})
               AND concat(site_id, '\n', call_id) NOT IN {excluded:Array(String)}
           ) AS c
           INNER JOIN ${PROBES_TABLE} AS p ON c.person = p.person
           WHERE (c.at_ms, c.call_id) < (p.at_ms, p.id)
           GROUP BY p.n)`,
        params,
      ),
      this.store.query<{ site_id: string; id: string }>(
        `SELECT DISTINCT site_id, id FROM (
           SELECT any(e.site_id) AS site_id, argMax(e.id, (e.at_ms, e.id)) AS id
           FROM (
             SELECT site_id, concat('enquiry:', enquiry_id) AS id, toUnixTimestamp64Milli(occurred_at) AS at_ms,
                    arrayJoin([concat(site_id, '\np', contact_phone), concat(site_id, '\nv', if(visitor_id != '', visitor_id, given_visitor_id))]) AS person
             FROM enquiries FINAL
             WHERE site_id IN {sites:Array(String)} AND occurred_at >= ${TIME('from')} AND occurred_at <= ${TIME('to')}
               AND (contact_phone IN {phones:Array(String)} OR visitor_id IN {visitors:Array(String)} OR given_visitor_id IN {visitors:Array(String)})
           ) AS e
           INNER JOIN ${PROBES_TABLE} AS p ON e.person = p.person
           WHERE (e.at_ms, e.id) < (p.at_ms, p.id)
           GROUP BY p.n)`,
        params,
      ),
    ]);
    return this.contactsByIds(
      people,
      [...calls, ...enquiries].map((r) => ({ siteId: str(r.site_id), id: str(r.id) })),
      fromMs,
      toMs,
    );
  }

  /**
   * The contacts (conversion ids: call ids and `enquiry:` ids) among those `contacts` would
   * return for `people` in [fromMs, toMs]: the rows of the latest contacts found, and the
   * first contacts of their leads (whose time fixes the lead's window).
   */
  async contactsByIds(
    people: ContactPeople,
    keys: ReadonlyArray<{ siteId: string; id: string }>,
    fromMs: number,
    toMs: number,
  ): Promise<Array<MatchedContact & { siteId: string }>> {
    const p = nonEmpty(people.phones);
    const v = nonEmpty(people.visitors);
    if (people.siteIds.length === 0 || (p.length === 0 && v.length === 0)) return [];
    const callKeys = keys.filter((k) => k.id && !k.id.startsWith(ENQUIRY_PREFIX));
    const enquiryKeys = keys.filter((k) => k.id.startsWith(ENQUIRY_PREFIX)).map((k) => ({ siteId: k.siteId, id: k.id.slice(ENQUIRY_PREFIX.length) }));
    const params = { sites: unique(people.siteIds), phones: orNone(p), visitors: orNone(v), from: fromMs, to: toMs };
    const [calls, enquiries] = await Promise.all([
      callKeys.length === 0
        ? []
        : this.store.query<Record<string, unknown>>(
            `SELECT ${CONTACT_CALL_COLUMNS} FROM calls FINAL
             WHERE site_id IN {sites:Array(String)} AND call_id IN {ids:Array(String)} AND started_at >= ${TIME('from')} AND started_at <= ${TIME('to')}
               AND concat(site_id, '\n', call_id) IN {keys:Array(String)} AND direction != 'outbound' AND verdict != 'spam'
               AND (caller_number IN {phones:Array(String)} OR visitor_id IN {visitors:Array(String)})`,
            { ...params, ids: unique(callKeys.map((k) => k.id)), keys: unique(callKeys.map((k) => pairKey(k.siteId, k.id))) },
          ),
      enquiryKeys.length === 0
        ? []
        : this.enquiries(
            `site_id IN {sites:Array(String)} AND enquiry_id IN {ids:Array(String)} AND occurred_at >= ${TIME('from')} AND occurred_at <= ${TIME('to')}
             AND concat(site_id, '\n', enquiry_id) IN {keys:Array(String)}
             AND (contact_phone IN {phones:Array(String)} OR visitor_id IN {visitors:Array(String)} OR given_visitor_id IN {visitors:Array(String)})`,
            { ...params, ids: unique(enquiryKeys.map((k) => k.id)), keys: unique(enquiryKeys.map((k) => pairKey(k.siteId, k.id))) },
          ),
    ]);
    return [
      ...calls.map((r) => ({ ...contactOfCall(r), siteId: str(r['site_id']) })),
      ...enquiries.map((r) => ({ ...contactOfEnquiry(r), siteId: r.site_id })),
    ];
  }

  /** Visits (bots excluded) of visitors that started in [fromMs, toMs], oldest first, by `${siteId}\n${visitorId}`. */
  async visitorVisits(keys: ReadonlyArray<{ siteId: string; visitorId: string }>, fromMs: number, toMs: number): Promise<Map<string, VisitSource[]>> {
    const rows = await humanVisitsOfVisitors(this.store, keys, fromMs, toMs, `referrer, landing_page, click_ids, ${ANALYTICS_COLUMNS}`);
    // The touch columns (channel, UTM tags) and these make the whole origin.
    return new Map([...rows].map(([key, visits]) => [key, visits.map((r) => ({ ...touchVisitOf(r), ...originOfColumns(r) }))]));
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

  /**
   * The given leads of a site as lead rows summarise them: counts and the members that decide
   * the rest, aggregated in ClickHouse (calls FINAL and enquiries FINAL by lead_id), so a lead
   * with thousands of contacts costs a few rows per batch, not all its members.
   */
  async leadMembers(siteId: string, leadIds: readonly string[]): Promise<Map<string, LeadMembersDigest>> {
    const out = new Map<string, LeadMembersDigest>();
    const ids = nonEmpty(leadIds);
    if (ids.length === 0) return out;
    // One member as a tuple (id, at, phone, visitor, target, missed, channel, utm…), picked by contact order.
    const member = (id: string, at: string, phone: string, visitor: string, target: string, missed: string): string =>
      `(${id}, ${at}, ${phone}, ${visitor}, ${target}, ${missed}, channel, utm_source, utm_medium, utm_campaign, utm_term)`;
    const picks = (m: string, order: string, phone: string, visitor: string): string =>
      `argMin(${m}, ${order}) AS first, argMax(${m}, ${order}) AS last, argMinIf(${m}, ${order}, ${phone} != '') AS first_phone,
       countIf(${phone} != '') AS phones, argMinIf(${m}, ${order}, ${visitor} != '') AS first_visitor, countIf(${visitor} != '') AS visitors,
       argMinIf(${m}, ${order}, channel != '') AS first_sourced, countIf(channel != '') AS sourced`;
    const callMember = member('call_id', 'toUnixTimestamp64Milli(started_at)', 'caller_number', 'visitor_id', 'is_target', 'is_missed');
    const enquiryVisitor = "if(visitor_id != '', visitor_id, given_visitor_id)";
    const enquiryMember = member("concat('enquiry:', enquiry_id)", 'toUnixTimestamp64Milli(occurred_at)', 'contact_phone', enquiryVisitor, '0', '0');
    const [calls, enquiries] = await Promise.all([
      this.store.query<Record<string, unknown>>(
        `SELECT lead_id, count() AS n, countIf(is_target = 1) AS target, countIf(is_missed = 1) AS missed,
                ${picks(callMember, '(toUnixTimestamp64Milli(started_at), call_id)', 'caller_number', 'visitor_id')}
         FROM calls FINAL WHERE site_id = {site:String} AND direction != 'outbound' AND verdict != 'spam' AND lead_id IN {ids:Array(String)}
         GROUP BY lead_id`,
        { site: siteId, ids },
      ),
      this.store.query<Record<string, unknown>>(
        `SELECT lead_id, count() AS n, 0 AS target, 0 AS missed,
                ${picks(enquiryMember, "(toUnixTimestamp64Milli(occurred_at), concat('enquiry:', enquiry_id))", 'contact_phone', enquiryVisitor)}
         FROM enquiries FINAL WHERE site_id = {site:String} AND lead_id IN {ids:Array(String)}
         GROUP BY lead_id`,
        { site: siteId, ids },
      ),
    ]);
    const memberOf = (kind: LeadMember['kind'], t: unknown): LeadMember => {
      // A tuple comes back as a JSON array (or an object when the engine names its elements).
      const [id, at, phone, visitor, target, missed, channel, source, medium, campaign, term] = Array.isArray(t)
        ? (t as unknown[])
        : Object.values(t as object);
      return {
        id: str(id),
        kind,
        atMs: num(at),
        phone: str(phone),
        visitorId: str(visitor),
        target: num(target) === 1,
        missed: num(missed) === 1,
        channel: str(channel),
        utm: { source: str(source), medium: str(medium), campaign: str(campaign), term: str(term) },
      };
    };
    const add = (kind: LeadMember['kind'], r: Record<string, unknown>): void => {
      const leadId = str(r['lead_id']);
      const digest = out.get(leadId) ?? { members: [], counts: { calls: 0, targetCalls: 0, missedCalls: 0, enquiries: 0 } };
      const picked = [r['first'], r['last']];
      // An argMinIf over no row gives a default tuple, not a member: only those with a match count.
      if (num(r['phones']) > 0) picked.push(r['first_phone']);
      if (num(r['visitors']) > 0) picked.push(r['first_visitor']);
      if (num(r['sourced']) > 0) picked.push(r['first_sourced']);
      const seen = new Set(digest.members.map((m) => m.id));
      for (const t of picked) {
        const m = memberOf(kind, t);
        if (seen.has(m.id)) continue;
        digest.members.push(m);
        seen.add(m.id);
      }
      if (kind === 'call') {
        digest.counts.calls += num(r['n']);
        digest.counts.targetCalls += num(r['target']);
        digest.counts.missedCalls += num(r['missed']);
      } else digest.counts.enquiries += num(r['n']);
      out.set(leadId, digest);
    };
    for (const r of calls) add('call', r);
    for (const r of enquiries) add('enquiry', r);
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
