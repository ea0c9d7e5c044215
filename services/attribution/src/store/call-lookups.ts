import { Injectable } from '@nestjs/common';
import { AttributionStore } from './attribution-store.js';
import type { TouchVisit } from '../models/call-credits.js';
import type { Redemption } from '../matching/call-matching.js';
import type { CallRow, CreditRow } from './rows.js';
import { TIME, nullableNum, num, str } from './values.js';
import { ORIGIN_COLUMNS, originColumns, originOfColumns } from './origin-columns.js';

const iso = (v: unknown): string | null => (v === null || v === undefined ? null : new Date(Number(v)).toISOString());
const unique = <T>(values: readonly T[]): T[] => [...new Set(values)];
const pairKey = (siteId: string, id: string): string => `${siteId}\n${id}`;

/** Where a stored inbound call is among its person's contacts. */
export interface CallPosition {
  siteId: string;
  callId: string;
  number: string;
  visitorId: string;
  leadId: string;
  atMs: number;
  /** Spam is nobody's lead: it stands between no two contacts of a person. */
  spam: boolean;
}

/** Every column of a `calls` row, times as epoch ms, so rows read back compare equal to rows built in memory. */
const CALL_COLUMNS = `event_id, site_id, call_id, provider, provider_call_id, tracking_number, caller_number, called_number, direction, status,
  toUnixTimestamp64Milli(started_at) AS started_ms, toUnixTimestamp64Milli(answered_at) AS answered_ms, toUnixTimestamp64Milli(ended_at) AS ended_ms,
  talk_seconds, wait_seconds, recording_url, verdict, verdict_reason, match_method, match_reason, match_confidence, promo_code, source_call_id,
  session_id, visitor_id, lease_id, toUnixTimestamp64Milli(session_started_at) AS session_started_ms, ${ORIGIN_COLUMNS}, is_final,
  caller_type, is_target, is_missed, callback_status, toUnixTimestamp64Milli(called_back_at) AS called_back_ms, callback_call_id,
  is_outside_hours, is_holiday, lead_id, settings_revision, report_version, report_event_id, version`;

const flag = (v: unknown): 0 | 1 => (Number(v) === 1 ? 1 : 0);

function positionOf(r: Record<string, unknown>): CallPosition {
  return {
    siteId: str(r['site_id']),
    callId: str(r['call_id']),
    number: str(r['caller_number']),
    visitorId: str(r['visitor_id']),
    leadId: str(r['lead_id']),
    atMs: num(r['at_ms']),
    spam: str(r['verdict']) === 'spam',
  };
}

/** A promo_redemptions row (with the lease's grant time when the query joined it). */
function redemptionOf(r: Record<string, unknown>): Redemption {
  return {
    eventId: str(r['event_id']),
    siteId: str(r['site_id']),
    promoCode: str(r['promo_code']),
    sessionId: str(r['session_id']),
    visitorId: str(r['visitor_id']),
    leaseId: str(r['lease_id']),
    callId: str(r['call_id']),
    callerNumber: str(r['caller_number']),
    calledAtMs: num(r['called_ms']),
    redeemedAtMs: num(r['redeemed_ms']),
    leaseGrantedAtMs: nullableNum(r['granted_ms']),
  };
}

function callRowOf(r: Record<string, unknown>): CallRow {
  return {
    event_id: str(r['event_id']),
    site_id: str(r['site_id']),
    call_id: str(r['call_id']),
    provider: str(r['provider']),
    provider_call_id: str(r['provider_call_id']),
    tracking_number: str(r['tracking_number']),
    caller_number: str(r['caller_number']),
    direction: str(r['direction']),
    status: str(r['status']),
    started_at: iso(r['started_ms']),
    answered_at: iso(r['answered_ms']),
    ended_at: iso(r['ended_ms']),
    talk_seconds: num(r['talk_seconds']),
    wait_seconds: num(r['wait_seconds']),
    recording_url: str(r['recording_url']),
    verdict: str(r['verdict']),
    verdict_reason: str(r['verdict_reason']),
    match_method: str(r['match_method']),
    match_reason: str(r['match_reason']),
    source_label: str(r['source_label']),
    session_id: str(r['session_id']),
    visitor_id: str(r['visitor_id']),
    lease_id: str(r['lease_id']),
    ...originColumns(originOfColumns(r)),
    is_final: flag(r['is_final']),
    called_number: str(r['called_number']),
    match_confidence: num(r['match_confidence']),
    promo_code: str(r['promo_code']),
    source_call_id: str(r['source_call_id']),
    session_started_at: iso(r['session_started_ms']),
    caller_type: str(r['caller_type']),
    is_target: flag(r['is_target']),
    is_missed: flag(r['is_missed']),
    callback_status: str(r['callback_status']),
    called_back_at: iso(r['called_back_ms']),
    callback_call_id: str(r['callback_call_id']),
    is_outside_hours: flag(r['is_outside_hours']),
    is_holiday: flag(r['is_holiday']),
    lead_id: str(r['lead_id']),
    settings_revision: num(r['settings_revision']),
    report_version: num(r['report_version']),
    report_event_id: str(r['report_event_id']),
    version: BigInt(str(r['version']) || '0'),
  };
}

/** Columns of a stored credit row, read back to compare a re-evaluation with (calls and enquiries alike). */
export const STORED_CREDIT_COLUMNS = `site_id, call_id, toUnixTimestamp64Milli(call_started_at) AS started_ms, model, session_id, visitor_id,
  touch_index, touch_count,
              toUnixTimestamp64Milli(touch_at) AS touch_ms, channel, utm_source, utm_medium, utm_campaign, utm_content, utm_term, credit,
                settings_revision, version`;

export function storedCreditRow(r: Record<string, unknown>): CreditRow {
  return {
    site_id: str(r['site_id']),
    call_id: str(r['call_id']),
    call_started_at: iso(r['started_ms']),
    model: str(r['model']),
    session_id: str(r['session_id']),
    visitor_id: str(r['visitor_id']),
    touch_index: num(r['touch_index']),
    touch_count: num(r['touch_count']),
    touch_at: iso(r['touch_ms']),
    channel: str(r['channel']),
    utm_source: str(r['utm_source']),
    utm_medium: str(r['utm_medium']),
    utm_campaign: str(r['utm_campaign']),
    utm_content: str(r['utm_content']),
    utm_term: str(r['utm_term']),
    credit: num(r['credit']),
    settings_revision: num(r['settings_revision']),
    version: BigInt(str(r['version']) || '0'),
    is_deleted: 0,
  };
}

/** Columns of `visits` that `touchVisitOf` reads. */
const TOUCH_COLUMNS = `site_id, session_id, visitor_id, toUnixTimestamp64Milli(started_at) AS started_ms, channel, utm_source, utm_medium,
  utm_campaign, utm_content, utm_term`;

export function touchVisitOf(r: Record<string, unknown>): TouchVisit {
  const { channel, utm } = originOfColumns(r);
  return { sessionId: str(r['session_id']), visitorId: str(r['visitor_id']), startedAtMs: num(r['started_ms']), channel, utm };
}

/**
 * Visit rows (without bots) of visitors that started in [fromMs, toMs], oldest first, by
 * `${siteId}\n${visitorId}`: the touch columns and `extraColumns`. Calls and enquiries both
 * build a visitor's path from it.
 */
export async function humanVisitsOfVisitors(
  store: AttributionStore,
  keys: ReadonlyArray<{ siteId: string; visitorId: string }>,
  fromMs: number,
  toMs: number,
  extraColumns: string,
): Promise<Map<string, Array<Record<string, unknown>>>> {
  const out = new Map<string, Array<Record<string, unknown>>>();
  const visitors = unique(keys.map((k) => k.visitorId).filter((v) => v !== ''));
  if (visitors.length === 0) return out;
  const sites = unique(keys.map((k) => k.siteId));
  const rows = await store.query<Record<string, unknown>>(
    `SELECT ${TOUCH_COLUMNS}${extraColumns ? `, ${extraColumns}` : ''}
     FROM visits FINAL
     WHERE site_id IN {sites:Array(String)} AND visitor_id IN {visitors:Array(String)} AND started_at >= ${TIME('from')} AND started_at <= ${TIME('to')}
       AND (site_id, session_id) NOT IN (SELECT site_id, session_id FROM session_verdicts FINAL WHERE site_id IN {sites:Array(String)} AND verdict = 'bot')
     ORDER BY started_at, session_id`,
    { sites, visitors, from: fromMs, to: toMs },
  );
  for (const r of rows) {
    const key = pairKey(str(r['site_id']), str(r['visitor_id']));
    const list = out.get(key) ?? [];
    list.push(r);
    out.set(key, list);
  }
  return out;
}

/**
 * The reads of call evaluation, each one query for a whole batch: stored rows and
 * credits of the calls, a caller's other calls, promo-code redemptions, a visitor's
 * visits; and the calls that other work must evaluate again.
 */
@Injectable()
export class CallLookups {
  constructor(private readonly store: AttributionStore) {}

  private async calls(where: string, params: Record<string, unknown>, tail = ''): Promise<CallRow[]> {
    const rows = await this.store.query<Record<string, unknown>>(`SELECT ${CALL_COLUMNS} FROM calls FINAL WHERE ${where} ${tail}`, params);
    return rows.map(callRowOf);
  }

  /** The stored (latest) rows of calls that started in [fromMs, toMs], keyed `${siteId}\n${callId}`. */
  async storedRows(keys: ReadonlyArray<{ siteId: string; callId: string }>, fromMs: number, toMs: number): Promise<Map<string, CallRow>> {
    const out = new Map<string, CallRow>();
    if (keys.length === 0) return out;
    const rows = await this.calls(
      `site_id IN {sites:Array(String)} AND call_id IN {ids:Array(String)} AND started_at >= ${TIME('from')} AND started_at <= ${TIME('to')}`,
      {
        sites: unique(keys.map((k) => k.siteId)),
        ids: unique(keys.map((k) => k.callId)),
        from: fromMs,
        to: toMs,
      },
    );
    for (const r of rows) out.set(pairKey(r.site_id, r.call_id), r);
    return out;
  }

  /** Current credit rows of calls that started in [fromMs, toMs], by `${siteId}\n${callId}`. */
  async storedCredits(keys: ReadonlyArray<{ siteId: string; callId: string }>, fromMs: number, toMs: number): Promise<Map<string, CreditRow[]>> {
    const out = new Map<string, CreditRow[]>();
    if (keys.length === 0) return out;
    const rows = await this.store.query<Record<string, unknown>>(
      `SELECT ${STORED_CREDIT_COLUMNS}
       FROM attribution_credits FINAL
       WHERE site_id IN {sites:Array(String)} AND call_id IN {ids:Array(String)} AND call_started_at >= ${TIME('from')} AND call_started_at <= ${TIME('to')}`,
      { sites: unique(keys.map((k) => k.siteId)), ids: unique(keys.map((k) => k.callId)), from: fromMs, to: toMs },
    );
    for (const r of rows) {
      const key = pairKey(str(r['site_id']), str(r['call_id']));
      const list = out.get(key) ?? [];
      list.push(storedCreditRow(r));
      out.set(key, list);
    }
    return out;
  }

  /**
   * Calls of the given people (inbound from the number, outbound to it) that started in
   * [fromMs, toMs]: what the repeat-caller, lead and call-back rules look at.
   */
  async callsOfNumbers(pairs: ReadonlyArray<{ siteId: string; number: string }>, fromMs: number, toMs: number): Promise<CallRow[]> {
    const numbers = unique(pairs.map((p) => p.number).filter((n) => n !== ''));
    if (numbers.length === 0) return [];
    return this.calls(
      `site_id IN {sites:Array(String)} AND started_at >= ${TIME('from')} AND started_at <= ${TIME('to')}
       AND ((direction != 'outbound' AND caller_number IN {numbers:Array(String)}) OR (direction = 'outbound' AND called_number IN {numbers:Array(String)}))`,
      { sites: unique(pairs.map((p) => p.siteId)), numbers, from: fromMs, to: toMs },
    );
  }

  /**
   * Redemptions that may name the calls: by call id (redeemed at or after the call), or by
   * a caller number and a stated time in [fromMs, toMs] (the caller the callers' calls span).
   */
  async redemptions(siteIds: readonly string[], callIds: readonly string[], callers: readonly string[], fromMs: number, toMs: number): Promise<Redemption[]> {
    if (siteIds.length === 0 || (callIds.length === 0 && callers.length === 0)) return [];
    // Most sites redeem no codes at all: a count over the time range spares the lists of ids.
    const [any] = await this.store.query<{ n: string }>(
      `SELECT count() AS n FROM promo_redemptions WHERE site_id IN {sites:Array(String)} AND called_at >= ${TIME('from')}`,
      { sites: unique(siteIds), from: fromMs - 86_400_000 },
    );
    if (Number(any?.n ?? 0) === 0) return [];
    const rows = await this.store.query<Record<string, unknown>>(
      `SELECT event_id, site_id, promo_code, session_id, visitor_id, lease_id, call_id, caller_number,
              toUnixTimestamp64Milli(called_at) AS called_ms, toUnixTimestamp64Milli(redeemed_at) AS redeemed_ms,
              toUnixTimestamp64Milli(lease_granted_at) AS granted_ms
       FROM promo_redemptions FINAL
       WHERE site_id IN {sites:Array(String)}
         AND ((call_id != '' AND call_id IN {ids:Array(String)} AND called_at >= ${TIME('idsFrom')})
           OR (call_id = '' AND caller_number IN {callers:Array(String)} AND called_at >= ${TIME('from')} AND called_at <= ${TIME('to')}))`,
      { sites: unique(siteIds), ids: unique(callIds), callers: unique(callers.filter((c) => c !== '')), idsFrom: fromMs - 86_400_000, from: fromMs, to: toMs },
    );
    return rows.map(redemptionOf);
  }

  /** Redemptions recorded since a time (the sweep that makes sure each reached its call). */
  async redemptionsSince(sinceMs: number): Promise<Redemption[]> {
    const rows = await this.store.query<Record<string, unknown>>(
      `SELECT event_id, site_id, promo_code, session_id, visitor_id, lease_id, call_id, caller_number,
              toUnixTimestamp64Milli(called_at) AS called_ms, toUnixTimestamp64Milli(redeemed_at) AS redeemed_ms
       FROM promo_redemptions FINAL WHERE redeemed_at >= ${TIME('since')}`,
      { since: sinceMs },
    );
    // This query does not join the lease: its grant time is unknown here.
    return rows.map((r) => ({ ...redemptionOf(r), leaseGrantedAtMs: null }));
  }

  /** Stored calls a redemption may name: by call id, or the caller's calls around the stated time. */
  async callsNamedBy(redemptions: readonly Redemption[], toleranceMs: number): Promise<CallRow[]> {
    const out: CallRow[] = [];
    const byId = redemptions.filter((r) => r.callId);
    if (byId.length > 0) {
      // A call id names one call; its start is before the redemption, within the redemption window.
      const from = Math.min(...byId.map((r) => r.redeemedAtMs)) - 31 * 86_400_000;
      out.push(
        ...(await this.calls(`site_id IN {sites:Array(String)} AND call_id IN {ids:Array(String)} AND started_at >= ${TIME('from')}`, {
          sites: unique(byId.map((r) => r.siteId)),
          ids: unique(byId.map((r) => r.callId)),
          from,
        })),
      );
    }
    const byCaller = redemptions.filter((r) => !r.callId && r.callerNumber);
    if (byCaller.length > 0) {
      const times = byCaller.map((r) => r.calledAtMs);
      const rows = await this.callsOfNumbers(
        byCaller.map((r) => ({ siteId: r.siteId, number: r.callerNumber })),
        Math.min(...times) - toleranceMs,
        Math.max(...times) + toleranceMs,
      );
      out.push(
        ...rows.filter(
          (c) =>
            c.direction !== 'outbound' &&
            byCaller.some(
              (r) => r.siteId === c.site_id && r.callerNumber === c.caller_number && Math.abs(Date.parse(c.started_at ?? '') - r.calledAtMs) <= toleranceMs,
            ),
        ),
      );
    }
    return out;
  }

  /** Visits (without bots) of visitors that started in [fromMs, toMs], oldest first, by `${siteId}\n${visitorId}`. */
  async visitorTouches(keys: ReadonlyArray<{ siteId: string; visitorId: string }>, fromMs: number, toMs: number): Promise<Map<string, TouchVisit[]>> {
    const rows = await humanVisitsOfVisitors(this.store, keys, fromMs, toMs, '');
    return new Map([...rows].map(([key, visits]) => [key, visits.map(touchVisitOf)]));
  }

  /**
   * Where the stored inbound calls of these callers, visitors and leads are in [fromMs, toMs]:
   * positions only, never full rows, so that finding the calls after a written one stays
   * cheap for a caller or visitor with thousands of calls.
   */
  async callPositions(
    people: { sites: readonly string[]; numbers: readonly string[]; visitors: readonly string[]; leads: readonly string[] },
    fromMs: number,
    toMs: number,
  ): Promise<CallPosition[]> {
    const nonEmpty = (values: readonly string[]): string[] => unique(values.filter((v) => v !== ''));
    if (people.sites.length === 0) return [];
    const rows = await this.store.query<Record<string, unknown>>(
      `SELECT site_id, call_id, caller_number, visitor_id, verdict, lead_id, toUnixTimestamp64Milli(started_at) AS at_ms
       FROM calls FINAL
       WHERE site_id IN {sites:Array(String)} AND direction != 'outbound'
         AND (caller_number IN {numbers:Array(String)} OR visitor_id IN {visitors:Array(String)} OR lead_id IN {leads:Array(String)})
         AND started_at >= ${TIME('from')} AND started_at <= ${TIME('to')}`,
      {
        sites: unique(people.sites),
        // An empty IN list is an error in ClickHouse: a value no row holds stands in.
        numbers: nonEmpty(people.numbers).concat('\u0000'),
        visitors: nonEmpty(people.visitors).concat('\u0000'),
        leads: nonEmpty(people.leads).concat('\u0000'),
        from: fromMs,
        to: toMs,
      },
    );
    return rows.map(positionOf);
  }

  /**
   * For each written call and each of its person keys (caller number, visitor), the stored
   * inbound calls of that key in [fromMs, toMs] after it up to its next call that is not
   * spam (that one included): all callsToFollow (dependent-calls.ts) walks through for a
   * written call. ClickHouse picks them per call, so a caller or visitor with thousands of
   * calls costs a few rows per batch, not its whole history. Ties in time are broken by id in
   * ClickHouse's byte order (JavaScript's string order short of mixing characters above
   * U+E000 with ones beyond U+FFFF).
   */
  async nextPositions(
    written: ReadonlyArray<{ siteId: string; callId: string; number: string; visitorId: string; atMs: number }>,
    fromMs: number,
    toMs: number,
  ): Promise<CallPosition[]> {
    const persons: string[] = [];
    const ats: number[] = [];
    const ids: string[] = [];
    for (const w of written) {
      for (const key of [...(w.number ? [`${w.siteId}\np${w.number}`] : []), ...(w.visitorId ? [`${w.siteId}\nv${w.visitorId}`] : [])]) {
        persons.push(key);
        ats.push(w.atMs);
        ids.push(w.callId);
      }
    }
    if (persons.length === 0) return [];
    const nonEmpty = (values: readonly string[]): string[] => unique(values.filter((v) => v !== ''));
    const found = await this.store.query<{ site_id: string; nexts: string; next_id: string; spams: string[] }>(
      `SELECT any(c.site_id) AS site_id, countIf(c.verdict != 'spam') AS nexts, argMinIf(c.call_id, (c.at_ms, c.call_id), c.verdict != 'spam') AS next_id,
              minIf((c.at_ms, c.call_id), c.verdict != 'spam') AS next,
              arrayMap(x -> x.2, arrayFilter(x -> nexts = 0 OR x < next, groupArrayIf((c.at_ms, c.call_id), c.verdict = 'spam'))) AS spams
       FROM (
         SELECT site_id, call_id, verdict, toUnixTimestamp64Milli(started_at) AS at_ms,
                arrayJoin([concat(site_id, '\np', caller_number), concat(site_id, '\nv', visitor_id)]) AS person
         FROM calls FINAL
         WHERE site_id IN {sites:Array(String)} AND direction != 'outbound' AND started_at >= ${TIME('from')} AND started_at <= ${TIME('to')}
           AND (caller_number IN {numbers:Array(String)} OR visitor_id IN {visitors:Array(String)})
       ) AS c
       INNER JOIN (
         SELECT t.1 AS n, t.2 AS person, t.3 AS at_ms, t.4 AS id
         FROM (SELECT arrayJoin(arrayZip(range(length({persons:Array(String)})), {persons:Array(String)}, {ats:Array(Int64)}, {ids:Array(String)})) AS t)
       ) AS p ON c.person = p.person
       WHERE (c.at_ms, c.call_id) > (p.at_ms, p.id)
       GROUP BY p.n`,
      {
        sites: unique(written.map((w) => w.siteId)),
        // An empty IN list is an error in ClickHouse: a value no row holds stands in.
        numbers: nonEmpty(written.map((w) => w.number)).concat('\u0000'),
        visitors: nonEmpty(written.map((w) => w.visitorId)).concat('\u0000'),
        from: fromMs,
        to: toMs,
        persons,
        ats,
        ids,
      },
    );
    const keys = new Map<string, { siteId: string; id: string }>();
    for (const r of found) {
      for (const id of [...(Number(r.nexts) > 0 ? [r.next_id] : []), ...r.spams]) keys.set(pairKey(r.site_id, id), { siteId: r.site_id, id });
    }
    if (keys.size === 0) return [];
    const rows = await this.store.query<Record<string, unknown>>(
      `SELECT site_id, call_id, caller_number, visitor_id, verdict, lead_id, toUnixTimestamp64Milli(started_at) AS at_ms
       FROM calls FINAL
       WHERE site_id IN {sites:Array(String)} AND call_id IN {ids:Array(String)} AND concat(site_id, '\n', call_id) IN {keys:Array(String)}
         AND direction != 'outbound' AND started_at >= ${TIME('from')} AND started_at <= ${TIME('to')}`,
      {
        sites: unique([...keys.values()].map((k) => k.siteId)),
        ids: unique([...keys.values()].map((k) => k.id)),
        keys: [...keys.keys()],
        from: fromMs,
        to: toMs,
      },
    );
    return rows.map(positionOf);
  }

  /** Missed inbound calls that these outbound calls (to their callers) may have called back. */
  async calledBack(outbound: ReadonlyArray<{ siteId: string; number: string; startedAtMs: number }>, callbackMs: number): Promise<CallRow[]> {
    const backs = outbound.filter((c) => c.number);
    if (backs.length === 0) return [];
    const starts = backs.map((c) => c.startedAtMs);
    return this.calls(
      `site_id IN {sites:Array(String)} AND direction != 'outbound' AND is_missed = 1 AND caller_number IN {numbers:Array(String)}
         AND started_at >= ${TIME('from')} AND started_at <= ${TIME('to')}`,
      {
        sites: unique(backs.map((c) => c.siteId)),
        numbers: unique(backs.map((c) => c.number)),
        from: Math.min(...starts) - callbackMs,
        to: Math.max(...starts),
      },
    );
  }

  /** Missed calls still waiting for a call-back that started after `sinceMs` (the sweep decides those whose window passed). */
  async pendingCallbacks(sinceMs: number, limit: number): Promise<CallRow[]> {
    return this.calls(`callback_status = 'pending' AND started_at >= ${TIME('since')}`, { since: sinceMs, limit }, 'ORDER BY started_at LIMIT {limit:UInt32}');
  }

  /**
   * A recompute's pages: consecutive ranges of whole hours [fromMs, toMs) holding about
   * `size` calls each (an hour with more is a page of its own; the last page is open-ended,
   * so calls stored meanwhile are included). Reading a page by its time range lets
   * ClickHouse skip the rest of the site's calls.
   */
  async pagesOf(siteId: string, size: number, table: 'calls' | 'enquiries' = 'calls'): Promise<Array<{ fromMs: number; toMs: number }>> {
    const at = table === 'calls' ? 'started_at' : 'occurred_at';
    const hours = await this.store.query<{ h: string; n: string }>(
      `SELECT toString(toUnixTimestamp(toStartOfHour(${at})) * 1000) AS h, toString(count()) AS n FROM ${table}
         WHERE site_id = {site:String} GROUP BY h ORDER BY toUInt64(h)`,
      { site: siteId },
    );
    const pages: Array<{ fromMs: number; toMs: number }> = [];
    let from: number | undefined;
    let count = 0;
    for (const { h, n } of hours) {
      const at = Number(h);
      if (from !== undefined && count + Number(n) > size) {
        pages.push({ fromMs: from, toMs: at });
        from = undefined;
        count = 0;
      }
      from ??= at;
      count += Number(n);
    }
    if (from !== undefined) pages.push({ fromMs: from, toMs: Number.MAX_SAFE_INTEGER });
    return pages;
  }

  /** A site's calls that started in [fromMs, toMs), in call order. */
  async callsBetween(siteId: string, fromMs: number, toMs: number): Promise<CallRow[]> {
    const to = Math.min(toMs, Date.UTC(2200, 0, 1));
    return this.calls(
      `site_id = {site:String} AND started_at >= ${TIME('from')} AND started_at < ${TIME('to')}`,
      { site: siteId, from: fromMs, to },
      'ORDER BY started_at, call_id',
    );
  }
}
