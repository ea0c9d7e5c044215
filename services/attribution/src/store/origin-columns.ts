// The one mapping between a VisitOrigin (libs/contracts) and the origin columns of the
// `visits`, `calls` and `enquiries` tables, both ways, and the column lists to select them.
import { visitOrigin, type VisitOrigin } from '@calltrack/contracts';
import type { AnalyticsColumns, OriginColumns } from './rows.js';
import { str } from './values.js';

/** The origin columns every origin-bearing table has, for a SELECT. */
export const ORIGIN_COLUMNS = 'channel, utm_source, utm_medium, utm_campaign, utm_content, utm_term, referrer, landing_page, click_ids';
/** The analytics-id columns only `visits` keeps. */
export const ANALYTICS_COLUMNS = 'ga_client_id, ym_uid, fbp, fbc';

export function originColumns(o: VisitOrigin): OriginColumns {
  return {
    channel: o.channel,
    utm_source: o.utm.source,
    utm_medium: o.utm.medium,
    utm_campaign: o.utm.campaign,
    utm_content: o.utm.content,
    utm_term: o.utm.term,
    referrer: o.referrer,
    landing_page: o.landingPage,
    click_ids: { ...o.clickIds },
  };
}

export function analyticsColumns(o: VisitOrigin): AnalyticsColumns {
  return { ga_client_id: o.analyticsIds.gaClientId, ym_uid: o.analyticsIds.ymUid, fbp: o.analyticsIds.fbp, fbc: o.analyticsIds.fbc };
}

/** A stored row: typed, or as ClickHouse returned it. */
type StoredRow = Readonly<Record<string, unknown>> | Readonly<Partial<OriginColumns & AnalyticsColumns>>;

/** The origin a stored row holds; columns it lacks are empty. */
export function originOfColumns(row: StoredRow): VisitOrigin {
  const r = row as Readonly<Record<string, unknown>>;
  return visitOrigin({
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
    clickIds: (r['click_ids'] ?? {}) as Record<string, string>,
    analyticsIds: { gaClientId: str(r['ga_client_id']), ymUid: str(r['ym_uid']), fbp: str(r['fbp']), fbc: str(r['fbc']) },
  });
}

/** The origin a `calls` or `enquiries` row was credited to: these tables keep no analytics ids. */
export function creditedOriginOfColumns(r: StoredRow): Omit<VisitOrigin, 'analyticsIds'> {
  const { analyticsIds: _ids, ...origin } = originOfColumns(r);
  return origin;
}
