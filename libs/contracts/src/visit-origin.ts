import type { calltrack } from '@calltrack/proto';

type IVisitOrigin = calltrack.events.v1.IVisitOrigin;

export interface Utm {
  source: string;
  medium: string;
  campaign: string;
  content: string;
  term: string;
}

export interface AnalyticsIds {
  gaClientId: string;
  ymUid: string;
  fbp: string;
  fbc: string;
}

/**
 * Where a visit came from (the VisitOrigin message, proto/calltrack/events/v1/origin.proto),
 * every field present: what a session records and what a call or an enquiry credited to it
 * carries on. A static number's origin is its tags and channel.
 */
export interface VisitOrigin {
  utm: Utm;
  referrer: string;
  landingPage: string;
  clickIds: Record<string, string>;
  analyticsIds: AnalyticsIds;
  channel: string;
}

/**
 * An event that carries an origin: `origin` since schema version 2, the flat fields before
 * (SessionStarted, CallAttributed). The flat fields are deprecated in the .proto; this type
 * and legacyOrigin are the only places that name them.
 */
export interface WithVisitOrigin {
  origin?: IVisitOrigin | null;
  utm?: calltrack.events.v1.IUtm | null;
  referrer?: string | null;
  landingPage?: string | null;
  clickIds?: Record<string, string> | null;
  analyticsIds?: calltrack.events.v1.IAnalyticsIds | null;
  channel?: string | null;
}

/** A complete origin from a partial one (absent fields empty); copies, so the result may be changed freely. */
export function visitOrigin(o: IVisitOrigin | null | undefined = undefined): VisitOrigin {
  const utm = o?.utm ?? {};
  const ids = o?.analyticsIds ?? {};
  return {
    utm: { source: utm.source ?? '', medium: utm.medium ?? '', campaign: utm.campaign ?? '', content: utm.content ?? '', term: utm.term ?? '' },
    referrer: o?.referrer ?? '',
    landingPage: o?.landingPage ?? '',
    clickIds: { ...(o?.clickIds ?? {}) },
    analyticsIds: { gaClientId: ids.gaClientId ?? '', ymUid: ids.ymUid ?? '', fbp: ids.fbp ?? '', fbc: ids.fbc ?? '' },
    channel: o?.channel ?? '',
  };
}

/**
 * The origin an event carries, whatever its schema version: `origin` when the record has one
 * (version 2 writers always set it), otherwise the flat fields of a version 1 record. Every
 * reader of SessionStarted and CallAttributed goes through here: topics keep years of records
 * of both shapes, and a replay must read them alike.
 */
export function visitOriginOf(payload: WithVisitOrigin): VisitOrigin {
  return visitOrigin(payload.origin ?? legacyOrigin(payload));
}

// Schema version 1 (docs/topics.md#schema-versions): the origin's fields directly on the event.
function legacyOrigin(p: WithVisitOrigin): IVisitOrigin {
  return { utm: p.utm, referrer: p.referrer, landingPage: p.landingPage, clickIds: p.clickIds, analyticsIds: p.analyticsIds, channel: p.channel };
}
