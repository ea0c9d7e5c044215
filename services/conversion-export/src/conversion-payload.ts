import { calltrack, callStatusLabel, matchMethodLabel, visitOriginOf, type DomainEvent } from '@calltrack/contracts';

const iso = (ms: number | undefined): string | null => (ms ? new Date(Number(ms)).toISOString() : null);

/** The JSON body of one conversion delivery (docs/webhooks-conversions.md). */
export function conversionPayload(event: DomainEvent<'CallAttributed'>): Record<string, unknown> {
  const a = event.payload;
  const { channel, ...origin } = visitOriginOf(a);
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
    channel,
    // A static number's offline source ("billboard on the ring road"); empty for other calls.
    sourceLabel: a.sourceLabel ?? '',
    sessionId: a.sessionId,
    visitorId: a.visitorId,
    // utm, referrer, landingPage, clickIds and analyticsIds, as docs/webhooks-conversions.md names them.
    ...origin,
  };
}

// Characters kept as they are in an Idempotency-Key: URI unreserved and sub-delims, ":", "@", "/"
// (so the keys of ASCII ids stay readable and unchanged). Everything else, "%" included, is encoded.
const KEY_SAFE = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/]$/;

/**
 * Percent-encodes (UTF-8) every character of `value` outside KEY_SAFE, so that any id fits an
 * HTTP header (visible ASCII only) and decodeURIComponent gives the id back. Deterministic and
 * one-to-one, so a receiver can dedupe by the encoded value.
 */
export function percentEncode(value: string): string {
  let out = '';
  // for…of walks code points, so an emoji is encoded as its four UTF-8 bytes.
  for (const ch of value) {
    if (KEY_SAFE.test(ch)) out += ch;
    else for (const byte of Buffer.from(ch, 'utf8')) out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** The Idempotency-Key of a call's conversion: "<siteId>:<callId>", percent-encoded (site ids hold no ":"). */
export function idempotencyKey(siteId: string, callId: string): string {
  return `${percentEncode(siteId)}:${percentEncode(callId)}`;
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
