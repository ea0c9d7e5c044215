import { calltrack, callDirectionLabel, callStatusLabel, matchMethodLabel, verdictLabel, type DomainEvent } from '@calltrack/contracts';
import type { Row, TableName } from './attribution-store.js';

const iso = (ms: number | undefined | null): string | null => (ms ? new Date(Number(ms)).toISOString() : null);

/** Rows that state events project into ClickHouse (visits, leases, releases, verdicts). */
export function stateRow(event: DomainEvent): { table: TableName; row: Row } | undefined {
  switch (event.type) {
    case 'SessionStarted': {
      const s = event.payload as calltrack.events.v1.SessionStarted;
      return {
        table: 'visits',
        row: {
          event_id: event.eventId,
          site_id: event.siteId,
          session_id: s.sessionId,
          visitor_id: s.visitorId,
          started_at: iso(Number(s.startedAtMs) || event.occurredAtMs),
          utm_source: s.utm?.source ?? '',
          utm_medium: s.utm?.medium ?? '',
          utm_campaign: s.utm?.campaign ?? '',
          utm_content: s.utm?.content ?? '',
          utm_term: s.utm?.term ?? '',
          referrer: s.referrer,
          landing_page: s.landingPage,
          user_agent: s.userAgent,
          client_ip: s.clientIp,
          click_ids: { ...s.clickIds },
          ga_client_id: s.analyticsIds?.gaClientId ?? '',
          ym_uid: s.analyticsIds?.ymUid ?? '',
          fbp: s.analyticsIds?.fbp ?? '',
          fbc: s.analyticsIds?.fbc ?? '',
          tracking_number: '',
          lease_id: '',
          is_bot: 0,
        },
      };
    }
    case 'LeaseGranted': {
      const l = event.payload as calltrack.events.v1.LeaseGranted;
      return {
        table: 'leases',
        row: {
          event_id: event.eventId,
          site_id: event.siteId,
          lease_id: l.leaseId,
          session_id: l.sessionId,
          visitor_id: l.visitorId,
          tracking_number: l.trackingNumber,
          granted_at: iso(Number(l.grantedAtMs)),
          expires_at: iso(Number(l.expiresAtMs)),
          released_at: null,
          version: 1,
        },
      };
    }
    case 'LeaseExpired': {
      const l = event.payload as calltrack.events.v1.LeaseExpired;
      return { table: 'lease_releases', row: { event_id: event.eventId, site_id: event.siteId, lease_id: l.leaseId, tracking_number: l.trackingNumber, released_at: iso(Number(l.releasedAtMs)) } };
    }
    case 'SessionScreened': {
      const v = event.payload as calltrack.events.v1.SessionScreened;
      return {
        table: 'session_verdicts',
        row: { event_id: event.eventId, site_id: event.siteId, session_id: v.sessionId, visitor_id: v.visitorId, verdict: verdictLabel(v.verdict), reason: v.reason, screened_at: iso(event.occurredAtMs) },
      };
    }
    default:
      return undefined;
  }
}

/** The stored state of a call after attribution. */
export function callRow(event: DomainEvent<'CallAttributed'>, version: number): Row {
  const a = event.payload;
  const c = a.call ?? new calltrack.events.v1.CallReported();
  const started = Number(c.startedAtMs);
  const answered = Number(c.answeredAtMs) || 0;
  const ended = Number(c.endedAtMs) || 0;
  return {
    event_id: event.eventId,
    site_id: event.siteId,
    call_id: c.callId,
    provider: c.provider,
    provider_call_id: c.providerCallId,
    tracking_number: c.trackingNumber,
    caller_number: c.callerNumber,
    direction: callDirectionLabel(c.direction),
    status: callStatusLabel(c.status),
    started_at: iso(started),
    answered_at: iso(answered),
    ended_at: iso(ended),
    talk_seconds: answered && ended > answered ? Math.round((ended - answered) / 1000) : 0,
    // Waiting: until answered, or the whole ring of a call nobody answered.
    wait_seconds: answered > started ? Math.round((answered - started) / 1000) : ended > started ? Math.round((ended - started) / 1000) : 0,
    recording_url: c.recordingUrl,
    verdict: verdictLabel(a.verdict),
    verdict_reason: a.verdictReason,
    match_method: matchMethodLabel(a.method),
    match_reason: a.matchReason,
    session_id: a.sessionId,
    visitor_id: a.visitorId,
    lease_id: a.leaseId,
    utm_source: a.utm?.source ?? '',
    utm_medium: a.utm?.medium ?? '',
    utm_campaign: a.utm?.campaign ?? '',
    utm_content: a.utm?.content ?? '',
    utm_term: a.utm?.term ?? '',
    referrer: a.referrer,
    landing_page: a.landingPage,
    click_ids: { ...a.clickIds },
    is_final: a.final ? 1 : 0,
    version,
  };
}
