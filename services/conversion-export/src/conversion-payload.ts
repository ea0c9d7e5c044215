import { calltrack, callStatusLabel, matchMethodLabel, type DomainEvent } from '@calltrack/contracts';

const iso = (ms: number | undefined): string | null => (ms ? new Date(Number(ms)).toISOString() : null);

/** The JSON body of one conversion delivery (docs/webhooks-conversions.md). */
export function conversionPayload(event: DomainEvent<'CallAttributed'>): Record<string, unknown> {
  const a = event.payload;
  const call = a.call ?? new calltrack.events.v1.CallReported();
  const answered = Number(call.answeredAtMs) || 0;
  const ended = Number(call.endedAtMs) || 0;
  return {
    eventId: event.eventId,
    siteId: event.siteId,
    callId: call.callId,
    callerNumber: call.callerNumber,
    trackingNumber: call.trackingNumber,
    status: callStatusLabel(call.status),
    startedAt: iso(Number(call.startedAtMs)),
    answeredAt: iso(answered),
    endedAt: iso(ended),
    talkSeconds: answered && ended > answered ? Math.round((ended - answered) / 1000) : 0,
    matchMethod: matchMethodLabel(a.method),
    channel: a.channel,
    sessionId: a.sessionId,
    visitorId: a.visitorId,
    utm: { source: a.utm?.source ?? '', medium: a.utm?.medium ?? '', campaign: a.utm?.campaign ?? '', content: a.utm?.content ?? '', term: a.utm?.term ?? '' },
    referrer: a.referrer,
    landingPage: a.landingPage,
    clickIds: { ...a.clickIds },
    analyticsIds: { gaClientId: a.analyticsIds?.gaClientId ?? '', ymUid: a.analyticsIds?.ymUid ?? '', fbp: a.analyticsIds?.fbp ?? '', fbc: a.analyticsIds?.fbc ?? '' },
  };
}

/** Which answers are worth another attempt: the receiver may succeed later. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/** The destination as recorded in events: without credentials or query string. */
export function safeDestination(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.host}${u.pathname}`;
}
