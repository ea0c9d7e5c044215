import { z } from 'zod';
import { CallStage, type CallObservation, type CallOutcome, type CallParties, type SignedCallFacts } from '../../calls/call-merge.js';
import { eventIdOf } from '@calltrack/contracts';
import { digits, fieldProblems } from '../shared/form-body.js';
import { wallClockToEpochMs } from '../../intake/local-time.js';
import { platformId } from '../../intake/ids.js';
import { timeProblem, type EventTimeWindow } from '../../intake/event-time-window.js';
import { phoneOrEmpty, readCaller } from '../../intake/phone-fields.js';
import type { ProviderEventMapping } from '../shared/provider-event-mapping.js';
import { inboundSignature } from './zadarma-signed-facts.js';

/** Zadarma's notifications about calls; the others (IVR digits, recordings, SMS) are acknowledged and ignored. */
export const ZADARMA_CALL_EVENTS = ['NOTIFY_START', 'NOTIFY_INTERNAL', 'NOTIFY_ANSWER', 'NOTIFY_END', 'NOTIFY_OUT_START', 'NOTIFY_OUT_END'] as const;
type ZadarmaCallEvent = (typeof ZADARMA_CALL_EVENTS)[number];

const text = (max = 128) => z.string().trim().max(max);
const required = (max = 128) => z.string().trim().min(1, 'must not be empty').max(max);

// All fields the call events carry; which are required depends on the event.
const base = z.object({
  event: z.enum(ZADARMA_CALL_EVENTS),
  pbx_call_id: platformId(),
  call_start: required(40),
  caller_id: text().default(''),
});

const schemas: Record<ZadarmaCallEvent, z.ZodType> = {
  NOTIFY_START: base.extend({ called_did: required() }),
  NOTIFY_INTERNAL: base.extend({ called_did: required(), internal: text().optional() }),
  NOTIFY_ANSWER: base.extend({ destination: text().default(''), internal: text().optional() }),
  NOTIFY_END: base.extend({ called_did: required(), duration: digits(7 * 24 * 3600), disposition: required(), internal: text().optional() }),
  NOTIFY_OUT_START: base.extend({ destination: required(), internal: text().default('') }),
  NOTIFY_OUT_END: base.extend({ destination: required(), internal: text().default(''), duration: digits(7 * 24 * 3600), disposition: required() }),
};

type Parsed = z.infer<typeof base> & { called_did?: string; destination?: string; internal?: string; duration?: number; disposition?: string };

/**
 * Zadarma's `disposition` values: answered, busy, cancel, no answer, failed, no money,
 * unallocated number, no limit, no day limit, line limit, no money, no limit.
 */
export function zadarmaOutcome(disposition: string): CallOutcome {
  switch (disposition.trim().toLowerCase()) {
    case 'answered':
      return 'completed';
    case 'busy':
      return 'busy';
    case 'cancel':
    case 'no answer':
      return 'missed';
    default:
      return 'failed';
  }
}

/** How far a signed call_start may lie from the moment a notification arrives (docs/telephony-providers.md#zadarma). */
export interface ZadarmaReplayWindow {
  nowMs: number;
  /** Clock skew and delivery delay allowed (WEBHOOK_TOLERANCE_SECONDS). */
  toleranceMs: number;
  /** The longest call whose answer or end is accepted (ZADARMA_MAX_CALL_SECONDS). */
  maxCallMs: number;
  /** The time window of every adapter: a call_start outside it is a 400 naming it, before the replay window is asked. */
  times?: EventTimeWindow;
}

/**
 * The replay window of Zadarma's signature, which covers call_start but no
 * time of its own: a start must arrive within the tolerance of call_start;
 * an answer or end within the longest call after it, and an end's duration
 * cannot be longer than the time since call_start. Undefined when inside.
 */
export function zadarmaReplayProblem(event: string, startMs: number, durationS: number | undefined, w: ZadarmaReplayWindow): string | undefined {
  const started = event === 'NOTIFY_START' || event === 'NOTIFY_INTERNAL' || event === 'NOTIFY_OUT_START';
  const ageMs = w.nowMs - startMs;
  if (ageMs < -w.toleranceMs) return `call_start is ${Math.round(-ageMs / 1000)} s in the future`;
  const maxAgeMs = (started ? 0 : w.maxCallMs) + w.toleranceMs;
  if (ageMs > maxAgeMs) return `call_start is ${Math.round(ageMs / 1000)} s old; a ${event} is accepted at most ${Math.round(maxAgeMs / 1000)} s after it`;
  if (durationS !== undefined && durationS * 1000 > ageMs + w.toleranceMs)
    return `duration ${durationS} s is longer than the ${Math.round(ageMs / 1000)} s since call_start`;
  return undefined;
}

/**
 * Maps a verified Zadarma call notification. The call is `pbx_call_id`;
 * called_did is the tracking number of an incoming call; outgoing calls go
 * from the extension `internal` to `destination` and name the line as
 * caller_id when they end. `call_start` is a wall-clock time in the account's
 * zone, read in the site's time zone. Zadarma sends a notification when the
 * event happens: the answer and end times are when the notification arrived
 * (an end without a seen answer is answered `duration` seconds before it).
 */
export function mapZadarmaNotification(
  form: Record<string, string>,
  site: { country: string; timeZone: string },
  siteId: string,
  rawBody: Buffer,
  replay: ZadarmaReplayWindow,
): ProviderEventMapping {
  const receivedAtMs = replay.nowMs;
  const event = form['event'] ?? '';
  if (!(ZADARMA_CALL_EVENTS as readonly string[]).includes(event))
    return { kind: 'ignored', reason: `event ${event || '(none)'} says nothing about a call's state` };
  const parsed = schemas[event as ZadarmaCallEvent].safeParse(form);
  if (!parsed.success) return { kind: 'invalid', problems: fieldProblems(form, parsed.error) };
  const p = parsed.data as Parsed;

  const startMs = wallClockToEpochMs(p.call_start, site.timeZone);
  if (startMs === undefined)
    return { kind: 'invalid', problems: [{ field: 'call_start', problem: `expected "YYYY-MM-DD HH:MM:SS" (account time), got "${p.call_start}"` }] };
  const outOfRange = replay.times && timeProblem('call_start', startMs, replay.nowMs, replay.times);
  if (outOfRange) return { kind: 'invalid', problems: [outOfRange] };
  const stale = zadarmaReplayProblem(event, startMs, p.duration, replay);
  if (stale) return { kind: 'stale', problem: stale };
  const startedAt = { ms: startMs, exact: true };
  const arrived = { ms: Math.max(receivedAtMs, startMs), exact: true };
  const { country } = site;

  let parties: CallParties;
  if (event === 'NOTIFY_OUT_START' || event === 'NOTIFY_OUT_END') {
    const calledNumber = phoneOrEmpty(p.destination, country);
    if (!calledNumber) return { kind: 'ignored', reason: 'outgoing call to an extension, not a phone number' };
    const line = phoneOrEmpty(p.caller_id, country);
    parties = { direction: 'outbound', trackingNumber: line, callerNumber: line, calledNumber, rank: 2 };
  } else if (event === 'NOTIFY_ANSWER') {
    // The answer names the number called as `destination`, which may also be the answering extension: a weaker source.
    const caller = readCaller(p.caller_id, country);
    if (!caller.ok) return { kind: 'invalid', problems: [{ field: 'caller_id', problem: caller.problem }] };
    parties = { direction: 'inbound', trackingNumber: phoneOrEmpty(p.destination, country), callerNumber: caller.number, calledNumber: '', rank: 1 };
  } else {
    const trackingNumber = phoneOrEmpty(p.called_did, country);
    if (!trackingNumber)
      return { kind: 'invalid', problems: [{ field: 'called_did', problem: `"${p.called_did}" is not a phone number (site country ${country})` }] };
    const caller = readCaller(p.caller_id, country);
    if (!caller.ok) return { kind: 'invalid', problems: [{ field: 'caller_id', problem: caller.problem }] };
    parties = { direction: 'inbound', trackingNumber, callerNumber: caller.number, calledNumber: '', rank: 2 };
  }

  const observation: CallObservation = { provider: 'zadarma', providerCallId: p.pbx_call_id, stage: CallStage.start, providerSequence: 0, parties, startedAt };
  if (event === 'NOTIFY_ANSWER') {
    observation.stage = CallStage.answer;
    observation.answeredAt = arrived;
  } else if (event === 'NOTIFY_END' || event === 'NOTIFY_OUT_END') {
    observation.stage = CallStage.end;
    observation.endedAt = arrived;
    observation.outcome = zadarmaOutcome(p.disposition!);
    if (observation.outcome === 'completed') observation.answeredAt = { ms: Math.max(startMs, arrived.ms - p.duration! * 1000), exact: false };
  }
  observation.signed = zadarmaSignedFacts(event as ZadarmaCallEvent, p, parties, startMs);
  // A retried notification repeats its bytes; the signature is a header, not part of them.
  return {
    kind: 'call',
    observation,
    eventId: eventIdOf('zadarma', siteId, rawBody),
    timeFields: { startedAt: 'call_start', answeredAt: 'duration', endedAt: 'call_start' },
  };
}

/**
 * What Zadarma's signature binds a notification to: the signed fields that
 * name the call — its caller, the number dialled, call_start — and the signed
 * values themselves, compared as the call report states them (E.164 numbers,
 * epoch ms), so that the same facts can be read back from the calls topic
 * after a restart (signedFactsOfReport). The answer signs `destination`
 * (possibly the answering extension) instead of called_did, so it is compared
 * on caller and start only. An end is final: one per call.
 */
function zadarmaSignedFacts(event: ZadarmaCallEvent, p: Parsed, parties: CallParties, startMs: number): SignedCallFacts {
  const start = String(startMs);
  const final = event === 'NOTIFY_END' || event === 'NOTIFY_OUT_END';
  if (parties.direction === 'outbound') {
    // The extension (`internal`) is signed but not reported: part of the signature, not of the fields read back.
    return {
      fields: { direction: 'outbound', destination: parties.calledNumber, call_start: start },
      signature: `out\n${(p.internal ?? '').trim()}\n${parties.calledNumber}\n${start}`,
      final,
    };
  }
  if (event === 'NOTIFY_ANSWER') {
    return {
      fields: { direction: 'inbound', caller_id: parties.callerNumber, call_start: start },
      signature: `answer\n${parties.callerNumber}\n${(p.destination ?? '').trim()}\n${start}`,
      final,
    };
  }
  return {
    fields: { direction: 'inbound', caller_id: parties.callerNumber, called_did: parties.trackingNumber, call_start: start },
    signature: inboundSignature(parties.callerNumber, parties.trackingNumber, start),
    final,
  };
}
