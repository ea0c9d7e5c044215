import { z } from 'zod';
import { CallStage, type CallObservation, type CallOutcome, type CallParties, type EventTime } from '../../calls/call-merge.js';
import { eventIdOf } from '@calltrack/contracts';
import { digits, fieldProblems, inEpochRange } from '../shared/form-body.js';
import { phoneOrEmpty, readCaller } from '../../intake/phone-fields.js';
import type { ProviderEventMapping } from '../shared/provider-event-mapping.js';

export const TWILIO_CALL_STATUSES = ['queued', 'initiated', 'ringing', 'in-progress', 'completed', 'busy', 'failed', 'no-answer', 'canceled'] as const;
type TwilioCallStatus = (typeof TWILIO_CALL_STATUSES)[number];

/** The fields of a Twilio Voice status callback we read; Twilio sends more, and may add fields at any time. */
export const twilioStatusCallbackSchema = z.object({
  CallSid: z.string().regex(/^CA[0-9a-fA-F]{32}$/, 'expected "CA" and 32 hex digits'),
  CallStatus: z.enum(TWILIO_CALL_STATUSES),
  From: z.string().max(256).default(''),
  To: z.string().max(256),
  // inbound | outbound-api | outbound-dial | trunking-originating | trunking-terminating
  Direction: z.string().min(1).max(40),
  ForwardedFrom: z.string().max(256).optional(),
  ParentCallSid: z.string().max(64).optional(),
  CallDuration: digits(7 * 24 * 3600).optional(),
  // RFC 2822, UTC ("Sat, 01 Mar 2025 10:00:00 +0000").
  Timestamp: z
    .string()
    .max(64)
    .refine((t) => inEpochRange(Date.parse(t)), 'expected an RFC 2822 date-time, e.g. "Sat, 01 Mar 2025 10:00:00 +0000"')
    .optional(),
  SequenceNumber: digits().optional(),
  RecordingUrl: z
    .url({ protocol: /^https?$/ })
    .max(2048)
    .optional(),
});

const STAGE: Record<TwilioCallStatus, CallObservation['stage']> = {
  queued: CallStage.start,
  initiated: CallStage.start,
  ringing: CallStage.start,
  'in-progress': CallStage.answer,
  completed: CallStage.end,
  busy: CallStage.end,
  failed: CallStage.end,
  'no-answer': CallStage.end,
  canceled: CallStage.end,
};

const OUTCOME: Partial<Record<TwilioCallStatus, CallOutcome>> = {
  completed: 'completed',
  busy: 'busy',
  failed: 'failed',
  'no-answer': 'missed',
  canceled: 'missed',
};

/**
 * Maps a verified status callback of one Twilio call. Inbound calls: the
 * tracking number is ForwardedFrom when a carrier forwarded the call to the
 * Twilio number, else To. Calls the site places through the API (outbound-api)
 * are outbound calls from From to To. Legs a <Dial> creates (outbound-dial,
 * with a ParentCallSid) are part of their parent call, which has callbacks of
 * its own, so they are ignored. Without Timestamp the receipt time stands in.
 */
export function mapTwilioStatusCallback(form: Record<string, string>, country: string, siteId: string, receivedAtMs: number): ProviderEventMapping {
  const parsed = twilioStatusCallbackSchema.safeParse(form);
  if (!parsed.success) return { kind: 'invalid', problems: fieldProblems(form, parsed.error) };
  const p = parsed.data;

  const direction = p.Direction.toLowerCase();
  if (direction === 'outbound-dial' || p.ParentCallSid) return { kind: 'ignored', reason: 'child leg of a <Dial>: reported through its parent call' };
  const outbound = direction === 'outbound-api' || direction === 'trunking-originating';
  if (!outbound && direction !== 'inbound' && direction !== 'trunking-terminating') {
    return { kind: 'invalid', problems: [{ field: 'Direction', problem: `unknown direction "${p.Direction}"` }] };
  }

  let parties: CallParties;
  if (outbound) {
    const calledNumber = phoneOrEmpty(p.To, country);
    if (!calledNumber) return { kind: 'ignored', reason: 'outbound call to a client or SIP address, not a phone number' };
    const line = phoneOrEmpty(p.From, country);
    parties = { direction: 'outbound', trackingNumber: line, callerNumber: line, calledNumber, rank: 2 };
  } else {
    const trackingNumber = phoneOrEmpty(p.ForwardedFrom, country) || phoneOrEmpty(p.To, country);
    if (!trackingNumber) return { kind: 'invalid', problems: [{ field: 'To', problem: `"${p.To}" is not a phone number (site country ${country})` }] };
    const caller = readCaller(p.From, country);
    if (!caller.ok) return { kind: 'invalid', problems: [{ field: 'From', problem: caller.problem }] };
    parties = { direction: 'inbound', trackingNumber, callerNumber: caller.number, calledNumber: '', rank: 2 };
  }

  const at: EventTime = p.Timestamp ? { ms: Date.parse(p.Timestamp), exact: true } : { ms: receivedAtMs, exact: false };
  const stage = STAGE[p.CallStatus];
  const observation: CallObservation = {
    provider: 'twilio',
    providerCallId: p.CallSid,
    stage,
    providerSequence: p.SequenceNumber ?? 0,
    parties,
  };
  if (stage === CallStage.start) observation.startedAt = at;
  if (stage === CallStage.answer) observation.answeredAt = at;
  if (stage === CallStage.end) {
    observation.endedAt = at;
    observation.outcome = OUTCOME[p.CallStatus]!;
    // CallDuration counts from the answer: the answer time of a call whose earlier callbacks never came.
    if (p.CallStatus === 'completed') observation.answeredAt = { ms: at.ms - (p.CallDuration ?? 0) * 1000, exact: false };
    observation.startedAt = { ms: observation.answeredAt?.ms ?? at.ms, exact: false };
  }
  if (p.RecordingUrl) observation.recordingUrl = p.RecordingUrl;

  // A retried callback repeats these; a new state of the call changes them.
  const identity = `${p.CallSid}\n${p.CallStatus}\n${p.SequenceNumber ?? ''}\n${p.Timestamp ?? ''}`;
  // Times derived from CallDuration name it when out of range.
  const derived = p.CallStatus === 'completed' ? 'CallDuration' : 'Timestamp';
  const timeFields = { startedAt: stage === CallStage.end ? derived : 'Timestamp', answeredAt: derived, endedAt: 'Timestamp' };
  return { kind: 'call', observation, eventId: eventIdOf('twilio', siteId, identity), timeFields };
}
