// The reports' SQL over ClickHouse (docs/reports.md shows the same queries for BI tools).
// Every query reads current rows (FINAL), counts inbound non-spam calls, leaves out visits
// judged bots, and works in the site's time zone where days and hours matter.
import { Injectable } from '@nestjs/common';
import { AttributionStore } from '../store/attribution-store.js';
import { ATTRIBUTION_MODELS } from '../models/attribution-models.js';
import { isoFromClickHouse } from '../store/row-mappers.js';
import { TIME, num, str } from '../store/values.js';

/** Inbound calls that are not spam, of one site, started in [from, to). */
const CALLS_IN_RANGE = `site_id = {site:String} AND started_at >= ${TIME('from')} AND started_at < ${TIME('to')} AND direction != 'outbound'
  AND verdict != 'spam'`;
const VISITS_IN_RANGE = `site_id = {site:String} AND started_at >= ${TIME('from')} AND started_at < ${TIME('to')}
  AND session_id NOT IN (SELECT session_id FROM session_verdicts FINAL WHERE site_id = {site:String} AND verdict = 'bot')`;

export const SOURCE_LEVELS = ['channel', 'source', 'campaign', 'keyword'] as const;
export type SourceLevel = (typeof SOURCE_LEVELS)[number];
const LEVEL_KEYS: Record<SourceLevel, readonly string[]> = {
  channel: ['channel'],
  source: ['channel', 'utm_source', 'utm_medium'],
  campaign: ['channel', 'utm_source', 'utm_medium', 'utm_campaign'],
  keyword: ['channel', 'utm_source', 'utm_medium', 'utm_campaign', 'utm_term'],
};

export const SEGMENTS = ['device_type', 'browser', 'os', 'country', 'region', 'city', 'landing_page'] as const;
export type Segment = (typeof SEGMENTS)[number];
/** A segment's key columns over `visits` (a city is named with its region and country). */
const SEGMENT_KEYS: Record<Segment, Array<[string, string]>> = {
  device_type: [['device_type', 'device_type']],
  browser: [
    ['device_type', 'device_type'],
    ['browser', 'browser'],
  ],
  os: [['os', 'os']],
  country: [['country', 'country']],
  region: [
    ['country', 'country'],
    ['region', 'region'],
  ],
  city: [
    ['country', 'country'],
    ['region', 'region'],
    ['city', 'city'],
  ],
  // The page without its query string and fragment: tagged links of one page are one row.
  landing_page: [['landing_page', 'cutQueryStringAndFragment(landing_page)']],
};

export interface ReportRange {
  siteId: string;
  fromMs: number;
  toMs: number;
  timeZone: string;
}

export interface SourceRow {
  key: Record<string, string>;
  visits: number;
  visitors: number;
  calls: number;
  /** Forms, callback requests and chats, credited under the model like calls. */
  enquiries: number;
  uniqueCallers: number;
  firstCalls: number;
  targetCalls: number;
  missedCalls: number;
  /** Calls and enquiries per visit. */
  conversionRate: number | null;
  cost: number;
  clicks: number;
  impressions: number;
  costPerCall: number | null;
  costPerTargetCall: number | null;
  revenue: number;
  romi: number | null;
}

const ratio = (a: number, b: number): number | null => (b > 0 ? round(a / b) : null);
const round = (x: number): number => Math.round(x * 1e6) / 1e6;

@Injectable()
export class ReportQueries {
  constructor(private readonly store: AttributionStore) {}

  private params(r: ReportRange, extra: Record<string, unknown> = {}): Record<string, unknown> {
    return { site: r.siteId, from: r.fromMs, to: r.toMs, tz: r.timeZone, ...extra };
  }

  /**
   * (a) Visits, calls and money per source down to keyword. Calls count by their credit
   * under `model` (a call shared by two sources counts half to each); calls without credits
   * (static numbers, unmatched) count whole under the source stored on the call ('' when
   * unmatched). Costs are those of the days of the range in the site's time zone.
   */
  async sources(r: ReportRange, level: SourceLevel, model: string): Promise<SourceRow[]> {
    const keys = LEVEL_KEYS[level];
    const k = keys.join(', ');
    const costKeys = keys
      .map(
        (c) =>
          ({
            utm_source: 'source AS utm_source',
            utm_medium: 'medium AS utm_medium',
            utm_campaign: 'campaign AS utm_campaign',
            utm_term: 'keyword AS utm_term',
          })[c] ?? c,
      )
      .join(', ');
    const pick = (c: string) => `if(cr.call_id != '', cr.${c}, c.${c}) AS ${c}`;
    const rows = await this.store.query<Record<string, unknown>>(
      `WITH
         credited AS (
           SELECT ${keys.map(pick).join(', ')}, c.call_id AS call_id, c.caller_number AS caller_number,
                  if(cr.call_id != '', cr.credit, 1.) AS credit, c.is_target AS is_target, c.is_missed AS is_missed, c.caller_type AS caller_type
           FROM (SELECT call_id, caller_number, is_target, is_missed, caller_type, ${k} FROM calls FINAL WHERE ${CALLS_IN_RANGE}) AS c
           LEFT JOIN (SELECT call_id, credit, ${k} FROM attribution_credits FINAL
                      WHERE site_id = {site:String} AND model = {model:String} AND conversion_kind = 'call' AND is_deleted = 0
                        AND call_started_at >= ${TIME('from')} AND call_started_at < ${TIME('to')}) AS cr
           ON cr.call_id = c.call_id),
         enquired AS (
           SELECT ${keys.map((c) => `if(cr.call_id != '', cr.${c}, e.${c}) AS ${c}`).join(', ')}, e.conversion_id AS conversion_id,
                  if(cr.call_id != '', cr.credit, 1.) AS credit
           FROM (SELECT concat('enquiry:', enquiry_id) AS conversion_id, ${k} FROM enquiries FINAL
                 WHERE site_id = {site:String} AND occurred_at >= ${TIME('from')} AND occurred_at < ${TIME('to')}) AS e
           LEFT JOIN (SELECT call_id, credit, ${k} FROM attribution_credits FINAL
                      WHERE site_id = {site:String} AND model = {model:String} AND conversion_kind = 'enquiry' AND is_deleted = 0
                        AND call_started_at >= ${TIME('from')} AND call_started_at < ${TIME('to')}) AS cr
           ON cr.call_id = e.conversion_id),
         revenue AS (SELECT call_id, amount FROM conversion_revenue FINAL WHERE site_id = {site:String} AND amount > 0)
       SELECT ${k}, sum(visits) AS visits, sum(visitors) AS visitors, sum(calls) AS calls, sum(enquiries) AS enquiries, sum(unique_callers) AS unique_callers,
              sum(first_calls) AS first_calls, sum(target_calls) AS target_calls, sum(missed_calls) AS missed_calls,
              sum(cost) AS cost, sum(clicks) AS clicks, sum(impressions) AS impressions, sum(revenue) AS revenue
       FROM (
         SELECT ${k}, count() AS visits, uniqExact(visitor_id) AS visitors, 0. AS calls, 0. AS enquiries, toUInt64(0) AS unique_callers, 0. AS first_calls,
                0. AS target_calls, 0. AS missed_calls, 0. AS cost, toUInt64(0) AS clicks, toUInt64(0) AS impressions, 0. AS revenue
         FROM visits FINAL WHERE ${VISITS_IN_RANGE} GROUP BY ${k}
         UNION ALL
         SELECT ${k}, 0, 0, sum(credit), 0., uniqExactIf(caller_number, caller_number != ''), sumIf(credit, caller_type = 'first'),
                sumIf(credit, is_target = 1), sumIf(credit, is_missed = 1), 0., 0, 0, sum(credit * revenue.amount)
         FROM credited LEFT JOIN revenue ON revenue.call_id = credited.call_id GROUP BY ${k}
         UNION ALL
         SELECT ${k}, 0, 0, 0., sum(credit), 0, 0., 0., 0., 0., 0, 0, sum(credit * revenue.amount)
         FROM enquired LEFT JOIN revenue ON revenue.call_id = enquired.conversion_id GROUP BY ${k}
         UNION ALL
         SELECT ${costKeys}, 0, 0, 0., 0., 0, 0., 0., 0., sum(cost), sum(clicks), sum(impressions), 0.
         FROM ad_costs FINAL
         WHERE site_id = {site:String} AND day >= toDate(toTimeZone(${TIME('from')}, {tz:String}))
           AND day <= toDate(toTimeZone(${TIME('to')} - INTERVAL 1 MILLISECOND, {tz:String}))
         GROUP BY ${k}
       )
       GROUP BY ${k}
       ORDER BY calls + enquiries DESC, visits DESC, cost DESC, ${k}`,
      this.params(r, { model }),
    );
    return rows.map((row) => {
      const calls = round(num(row['calls']));
      const enquiries = round(num(row['enquiries']));
      const targetCalls = round(num(row['target_calls']));
      const cost = round(num(row['cost']));
      const revenue = round(num(row['revenue']));
      const visits = num(row['visits']);
      return {
        key: Object.fromEntries(keys.map((c) => [c, str(row[c])])),
        visits,
        visitors: num(row['visitors']),
        calls,
        enquiries,
        uniqueCallers: num(row['unique_callers']),
        firstCalls: round(num(row['first_calls'])),
        targetCalls,
        missedCalls: round(num(row['missed_calls'])),
        conversionRate: ratio(calls + enquiries, visits),
        cost,
        clicks: num(row['clicks']),
        impressions: num(row['impressions']),
        costPerCall: cost > 0 ? ratio(cost, calls) : null,
        costPerTargetCall: cost > 0 ? ratio(cost, targetCalls) : null,
        revenue,
        romi: cost > 0 ? round((revenue - cost) / cost) : null,
      };
    });
  }

  /** (b) Visits and calls by day and hour of the site's time zone. */
  async dayByHour(
    r: ReportRange,
  ): Promise<Array<{ day: string; hour: number; weekday: number; visits: number; calls: number; targetCalls: number; missedCalls: number }>> {
    const local = `toTimeZone(started_at, {tz:String})`;
    const rows = await this.store.query<Record<string, unknown>>(
      `SELECT toString(day) AS day, hour, any(weekday) AS weekday, sum(visits) AS visits, sum(calls) AS calls, sum(target_calls) AS target_calls,
         sum(missed_calls) AS missed_calls
       FROM (
         SELECT toDate(${local}) AS day, toHour(${local}) AS hour, toDayOfWeek(${local}) AS weekday, count() AS visits,
                toUInt64(0) AS calls, toUInt64(0) AS target_calls, toUInt64(0) AS missed_calls
         FROM visits FINAL WHERE ${VISITS_IN_RANGE} GROUP BY day, hour, weekday
         UNION ALL
         SELECT toDate(${local}) AS day, toHour(${local}) AS hour, toDayOfWeek(${local}) AS weekday, 0, count(), countIf(is_target = 1), countIf(is_missed = 1)
         FROM calls FINAL WHERE ${CALLS_IN_RANGE} GROUP BY day, hour, weekday
       )
       GROUP BY day, hour ORDER BY day, hour`,
      this.params(r),
    );
    return rows.map((row) => ({
      day: str(row['day']),
      hour: num(row['hour']),
      weekday: num(row['weekday']),
      visits: num(row['visits']),
      calls: num(row['calls']),
      targetCalls: num(row['target_calls']),
      missedCalls: num(row['missed_calls']),
    }));
  }

  /**
   * (c) Visits and calls by device, region or landing page. A call counts under the
   * visit it was matched to (last touch); calls matched to no visit count under ''.
   */
  async segments(
    r: ReportRange,
    by: Segment,
  ): Promise<Array<{ key: Record<string, string>; visits: number; calls: number; targetCalls: number; missedCalls: number; conversionRate: number | null }>> {
    const keys = SEGMENT_KEYS[by];
    const names = keys.map(([n]) => n).join(', ');
    const exprs = keys.map(([n, e]) => `${e} AS ${n}`).join(', ');
    const rows = await this.store.query<Record<string, unknown>>(
      `SELECT ${names}, sum(visits) AS visits, sum(calls) AS calls, sum(target_calls) AS target_calls, sum(missed_calls) AS missed_calls
       FROM (
         SELECT ${exprs}, count() AS visits, toUInt64(0) AS calls, toUInt64(0) AS target_calls, toUInt64(0) AS missed_calls
         FROM visits FINAL WHERE ${VISITS_IN_RANGE} GROUP BY ${names}
         UNION ALL
         SELECT ${keys.map(([n]) => `v.${n} AS ${n}`).join(', ')}, 0, count(), countIf(c.is_target = 1), countIf(c.is_missed = 1)
         FROM (SELECT session_id, is_target, is_missed FROM calls FINAL WHERE ${CALLS_IN_RANGE}) AS c
         LEFT JOIN (SELECT session_id, ${exprs} FROM visits FINAL
                    WHERE site_id = {site:String} AND started_at >= ${TIME('from')} - INTERVAL 180 DAY AND started_at < ${TIME('to')}
                      AND session_id IN (SELECT session_id FROM calls FINAL WHERE ${CALLS_IN_RANGE} AND session_id != '')) AS v
         ON v.session_id = c.session_id
         GROUP BY ${names}
       )
       GROUP BY ${names} ORDER BY calls DESC, visits DESC, ${names} LIMIT 1000`,
      this.params(r),
    );
    return rows.map((row) => {
      const visits = num(row['visits']);
      const calls = num(row['calls']);
      return {
        key: Object.fromEntries(keys.map(([n]) => [n, str(row[n])])),
        visits,
        calls,
        targetCalls: num(row['target_calls']),
        missedCalls: num(row['missed_calls']),
        conversionRate: ratio(calls, visits),
      };
    });
  }

  /**
   * (d) Multi-channel sequences of the calls credited to visits: each call's path is its
   * touches (the visitor's visits within the lookback, oldest first, as stored with its
   * credits). Grouped in ClickHouse by path and time-lag bucket; the rest is summed here.
   */
  async paths(r: ReportRange, top: number): Promise<PathsReport> {
    // Grouped once more by path and lag, so only distinct paths leave ClickHouse.
    const rows = await this.store.query<{ path: string[]; lag_days: number; conversions: string }>(
      `SELECT path, lag_days, toString(count()) AS conversions
       FROM (
         SELECT arrayMap(t -> t.2, arraySort(t -> t.1, groupArray((touch_index, channel)))) AS path,
                dateDiff('day', min(touch_at), any(call_started_at)) AS lag_days
         FROM attribution_credits FINAL
         WHERE site_id = {site:String} AND model = 'linear' AND conversion_kind = 'call' AND is_deleted = 0
           AND call_started_at >= ${TIME('from')} AND call_started_at < ${TIME('to')}
           AND call_id IN (SELECT call_id FROM calls FINAL WHERE ${CALLS_IN_RANGE})
         GROUP BY call_id
       )
       GROUP BY path, lag_days`,
      this.params(r),
    );
    return summarisePaths(
      rows.map((row) => ({ path: row.path.map(String), lagDays: Number(row.lag_days), conversions: Number(row.conversions) })),
      top,
    );
  }

  /** (e) Missed calls and what became of them: called back, not called back, still pending. */
  async missed(
    r: ReportRange,
    status: 'not_called_back' | 'pending' | 'called_back' | 'all',
    limit: number,
  ): Promise<{ summary: Record<string, number>; calls: Array<Record<string, unknown>> }> {
    const [summary] = await this.store.query<Record<string, unknown>>(
      `SELECT count() AS missed, countIf(callback_status = 'called_back') AS called_back, countIf(callback_status = 'not_called_back') AS not_called_back,
              countIf(callback_status = 'pending') AS pending, countIf(is_outside_hours = 1 OR is_holiday = 1) AS outside_hours
       FROM calls FINAL WHERE ${CALLS_IN_RANGE} AND is_missed = 1`,
      this.params(r),
    );
    const calls = await this.store.query<Record<string, unknown>>(
      `SELECT call_id, caller_number, tracking_number, started_at, wait_seconds, callback_status, called_back_at, callback_call_id,
              is_outside_hours, is_holiday, channel, utm_source, utm_medium, utm_campaign, utm_term, session_id, visitor_id, lead_id
       FROM calls FINAL WHERE ${CALLS_IN_RANGE} AND is_missed = 1 ${status === 'all' ? '' : 'AND callback_status = {status:String}'}
       ORDER BY started_at DESC, call_id DESC LIMIT {limit:UInt32}`,
      this.params(r, { status, limit }),
    );
    return {
      summary: Object.fromEntries(Object.entries(summary ?? {}).map(([k, v]) => [k, num(v)])),
      calls: calls.map((c) => ({
        ...c,
        started_at: isoFromClickHouse(c['started_at']),
        called_back_at: isoFromClickHouse(c['called_back_at']),
        wait_seconds: num(c['wait_seconds']),
        is_outside_hours: num(c['is_outside_hours']) === 1,
        is_holiday: num(c['is_holiday']) === 1,
      })),
    };
  }

  /**
   * (f) The visitor card: one person's visits, calls, enquiries and sources. The person is
   * the given visitor id and/or phone, widened once: the phones of the visitor's calls and
   * enquiries, and the visitors (other devices) those phones' calls were matched to.
   */
  async visitorCard(siteId: string, given: { visitorId?: string; phone?: string }, limit: number): Promise<VisitorCard | undefined> {
    const visitors = new Set(given.visitorId ? [given.visitorId] : []);
    const phones = new Set(given.phone ? [given.phone] : []);
    const params = (extra: Record<string, unknown> = {}) => ({ site: siteId, v: [...visitors], p: [...phones], limit, ...extra });
    const contacts = (where: string) =>
      this.store.query<{ visitor_id: string; phone: string }>(
        `SELECT visitor_id, caller_number AS phone FROM calls FINAL WHERE site_id = {site:String} AND direction != 'outbound' AND (${where})
         UNION DISTINCT
         SELECT visitor_id, contact_phone AS phone FROM enquiries FINAL WHERE site_id = {site:String}
           AND (${where.replaceAll('caller_number', 'contact_phone')})`,
        params(),
      );
    if (visitors.size > 0) for (const c of await contacts('visitor_id IN {v:Array(String)}')) if (c.phone) phones.add(c.phone);
    if (phones.size > 0) for (const c of await contacts('caller_number IN {p:Array(String)}')) if (c.visitor_id) visitors.add(c.visitor_id);
    const [visits, calls, enquiries] = await Promise.all([
      this.store.query<Record<string, unknown>>(
        `SELECT session_id, visitor_id, started_at, channel, utm_source, utm_medium, utm_campaign, utm_content, utm_term, referrer, landing_page,
                click_ids, tracking_number, device_type, browser, os, country, region, city
         FROM visits FINAL WHERE site_id = {site:String} AND visitor_id IN {v:Array(String)}
         ORDER BY started_at DESC, session_id LIMIT {limit:UInt32}`,
        params(),
      ),
      this.store.query<Record<string, unknown>>(
        `SELECT call_id, direction, caller_number, tracking_number, status, started_at, talk_seconds, wait_seconds, match_method, match_confidence,
                session_id, visitor_id, channel, utm_source, utm_medium, utm_campaign, utm_term, caller_type, is_target, is_missed, callback_status,
                  lead_id, verdict
         FROM calls FINAL WHERE site_id = {site:String} AND (visitor_id IN {v:Array(String)} OR caller_number IN {p:Array(String)}
           OR (direction = 'outbound' AND called_number IN {p:Array(String)}))
         ORDER BY started_at DESC, call_id LIMIT {limit:UInt32}`,
        params(),
      ),
      this.store.query<Record<string, unknown>>(
        `SELECT enquiry_id, kind, occurred_at, contact_phone, contact_email, contact_name, session_id, visitor_id, channel, utm_source, utm_medium,
           utm_campaign, utm_term, lead_id
         FROM enquiries FINAL WHERE site_id = {site:String} AND (visitor_id IN {v:Array(String)} OR contact_phone IN {p:Array(String)})
         ORDER BY occurred_at DESC, enquiry_id LIMIT {limit:UInt32}`,
        params(),
      ),
    ]);
    if (visits.length + calls.length + enquiries.length === 0) return undefined;
    const sources = new Map<
      string,
      { channel: string; utmSource: string; utmMedium: string; utmCampaign: string; visits: number; firstAt: string; lastAt: string }
    >();
    for (const v of visits) {
      const at = isoFromClickHouse(v['started_at']) ?? '';
      const key = [v['channel'], v['utm_source'], v['utm_medium'], v['utm_campaign']].map(str).join('\n');
      const s = sources.get(key) ?? {
        channel: str(v['channel']),
        utmSource: str(v['utm_source']),
        utmMedium: str(v['utm_medium']),
        utmCampaign: str(v['utm_campaign']),
        visits: 0,
        firstAt: at,
        lastAt: at,
      };
      s.visits += 1;
      if (at < s.firstAt) s.firstAt = at;
      if (at > s.lastAt) s.lastAt = at;
      sources.set(key, s);
    }
    const inbound = calls.filter((c) => c['direction'] !== 'outbound' && c['verdict'] !== 'spam');
    return {
      siteId,
      visitorIds: [...visitors].sort(),
      phones: [...phones].sort(),
      summary: {
        visits: visits.length,
        calls: inbound.length,
        spamCalls: calls.filter((c) => c['verdict'] === 'spam').length,
        targetCalls: inbound.filter((c) => num(c['is_target']) === 1).length,
        missedCalls: inbound.filter((c) => num(c['is_missed']) === 1).length,
        enquiries: enquiries.length,
        leads: new Set([...inbound, ...enquiries].map((x) => str(x['lead_id'])).filter(Boolean)).size,
        firstSeenAt: visits.length > 0 ? (isoFromClickHouse(visits[visits.length - 1]!['started_at']) ?? null) : null,
      },
      sources: [...sources.values()].sort((a, b) => a.firstAt.localeCompare(b.firstAt)),
      visits: visits.map((v) => ({ ...v, started_at: isoFromClickHouse(v['started_at']) })),
      calls: calls.map((c) => ({
        ...c,
        started_at: isoFromClickHouse(c['started_at']),
        talk_seconds: num(c['talk_seconds']),
        wait_seconds: num(c['wait_seconds']),
        match_confidence: num(c['match_confidence']),
        is_target: num(c['is_target']) === 1,
        is_missed: num(c['is_missed']) === 1,
      })),
      enquiries: enquiries.map((e) => ({ ...e, occurred_at: isoFromClickHouse(e['occurred_at']) })),
    };
  }

  /** (g) Each channel's calls under each model, side by side (credits sum to the calls of the range). */
  async modelsSideBySide(r: ReportRange): Promise<Array<{ channel: string; credits: Record<string, number> }>> {
    const rows = await this.store.query<Record<string, unknown>>(
      `SELECT channel, model, sum(credit) AS credit
       FROM attribution_credits FINAL
       WHERE site_id = {site:String} AND conversion_kind = 'call' AND is_deleted = 0 AND call_started_at >= ${TIME('from')} AND call_started_at < ${TIME('to')}
         AND call_id IN (SELECT call_id FROM calls FINAL WHERE ${CALLS_IN_RANGE})
       GROUP BY channel, model ORDER BY channel, model`,
      this.params(r),
    );
    const byChannel = new Map<string, Record<string, number>>();
    for (const row of rows) {
      const channel = str(row['channel']);
      // Every model named for every channel: a channel no model credits on a call still shows 0 there.
      const credits = byChannel.get(channel) ?? Object.fromEntries(ATTRIBUTION_MODELS.map((m) => [m, 0]));
      credits[str(row['model'])] = round(num(row['credit']));
      byChannel.set(channel, credits);
    }
    return [...byChannel]
      .map(([channel, credits]) => ({ channel, credits }))
      .sort((a, b) => (b.credits['last_non_direct_click'] ?? 0) - (a.credits['last_non_direct_click'] ?? 0) || a.channel.localeCompare(b.channel));
  }
}

export interface PathsReport {
  conversions: number;
  topPaths: Array<{ path: string[]; conversions: number; share: number }>;
  pathLengths: Array<{ touches: number; conversions: number; share: number }>;
  timeLag: Array<{ days: string; conversions: number; share: number }>;
  /** Per channel: conversions where it was the last touch, and where it came earlier on the path (assisted). */
  assisted: Array<{ channel: string; lastClick: number; assisted: number; assistedToLastClick: number | null }>;
}

const LAG_BUCKETS: Array<[string, number]> = [
  ['0', 0],
  ['1', 1],
  ['2-3', 3],
  ['4-7', 7],
  ['8-14', 14],
  ['15-30', 30],
  ['31-90', 90],
  ['91+', Infinity],
];

/** Sums paths grouped by (path, lag) into the report's tables. Pure, so it is unit-tested on hand-counted cases. */
export function summarisePaths(rows: ReadonlyArray<{ path: string[]; lagDays: number; conversions: number }>, top: number): PathsReport {
  const total = rows.reduce((a, r) => a + r.conversions, 0);
  const share = (n: number) => (total > 0 ? round(n / total) : 0);
  const byPath = new Map<string, { path: string[]; conversions: number }>();
  const byLength = new Map<number, number>();
  const byLag = new Map<string, number>();
  const last = new Map<string, number>();
  const assisted = new Map<string, number>();
  for (const r of rows) {
    const key = JSON.stringify(r.path);
    byPath.set(key, { path: r.path, conversions: (byPath.get(key)?.conversions ?? 0) + r.conversions });
    byLength.set(r.path.length, (byLength.get(r.path.length) ?? 0) + r.conversions);
    const bucket = LAG_BUCKETS.find(([, max]) => r.lagDays <= max)![0];
    byLag.set(bucket, (byLag.get(bucket) ?? 0) + r.conversions);
    const lastChannel = r.path[r.path.length - 1];
    if (lastChannel !== undefined) last.set(lastChannel, (last.get(lastChannel) ?? 0) + r.conversions);
    // A channel assists a conversion once, however often it came before the last touch.
    for (const channel of new Set(r.path.slice(0, -1))) assisted.set(channel, (assisted.get(channel) ?? 0) + r.conversions);
  }
  const channels = [...new Set([...last.keys(), ...assisted.keys()])];
  return {
    conversions: total,
    topPaths: [...byPath.values()]
      .sort((a, b) => b.conversions - a.conversions || a.path.join('>').localeCompare(b.path.join('>')))
      .slice(0, top)
      .map((p) => ({ ...p, share: share(p.conversions) })),
    pathLengths: [...byLength].sort((a, b) => a[0] - b[0]).map(([touches, conversions]) => ({ touches, conversions, share: share(conversions) })),
    timeLag: LAG_BUCKETS.filter(([b]) => byLag.has(b)).map(([days]) => ({ days, conversions: byLag.get(days)!, share: share(byLag.get(days)!) })),
    assisted: channels
      .map((channel) => {
        const lastClick = last.get(channel) ?? 0;
        const a = assisted.get(channel) ?? 0;
        return { channel, lastClick, assisted: a, assistedToLastClick: lastClick > 0 ? round(a / lastClick) : null };
      })
      .sort((x, y) => y.lastClick + y.assisted - (x.lastClick + x.assisted) || x.channel.localeCompare(y.channel)),
  };
}

export interface VisitorCard {
  siteId: string;
  visitorIds: string[];
  phones: string[];
  summary: {
    visits: number;
    calls: number;
    spamCalls: number;
    targetCalls: number;
    missedCalls: number;
    enquiries: number;
    leads: number;
    firstSeenAt: string | null;
  };
  sources: Array<{ channel: string; utmSource: string; utmMedium: string; utmCampaign: string; visits: number; firstAt: string; lastAt: string }>;
  visits: Array<Record<string, unknown>>;
  calls: Array<Record<string, unknown>>;
  enquiries: Array<Record<string, unknown>>;
}
