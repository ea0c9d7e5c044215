import { z } from 'zod';
import { CallStage, type CallObservation, type CallOutcome, type CallParties } from '../../calls/call-merge.js';
import { eventIdOf } from '@calltrack/contracts';
import { fieldProblems, inEpochRange } from '../shared/form-body.js';
import { platformId } from '../../intake/ids.js';
import { diversionNumber, historyInfoNumber, phoneOrEmpty, readCaller } from '../../intake/phone-fields.js';
import type { ProviderEventMapping } from '../shared/provider-event-mapping.js';

/** Call Control events that change what is known of a call; the others (playback, gather, recording…) are ignored. */
export const TELNYX_CALL_EVENTS = ['call.initiated', 'call.answered', 'call.bridged', 'call.hangup'] as const;
type TelnyxCallEvent = (typeof TELNYX_CALL_EVENTS)[number];

const instant = z
  .string()
  .max(64)
  .refine((s) => z.iso.datetime({ offset: true }).safeParse(s).success && inEpochRange(Date.parse(s)), 'expected an ISO-8601 date-time with a zone');
const header = z.object({ name: z.string().max(128), value: z.string().max(4096) });

/** The envelope of a Telnyx webhook and the payload fields we read (Telnyx sends more). */
export const telnyxWebhookSchema = z.object({
  data: z.object({
    record_type: z.string().optional(),
    event_type: z.string().min(1).max(128),
    id: platformId(),
    occurred_at: instant,
    payload: z
      .object({
        call_control_id: platformId().optional(),
        call_leg_id: z.string().max(256).optional(),
        call_session_id: platformId().optional(),
        from: z.string().max(256).optional(),
        to: z.string().max(256).optional(),
        direction: z.enum(['incoming', 'outgoing']).optional(),
        start_time: instant.optional(),
        end_time: instant.optional(),
        hangup_cause: z.string().max(64).optional(),
        sip_headers: z.array(header).max(100).optional(),
        custom_headers: z.array(header).max(100).optional(),
      })
      .refine((p) => p.call_session_id ?? p.call_control_id, { message: 'call_session_id or call_control_id is required', path: ['call_session_id'] }),
  }),
});

/** Telnyx hangup_cause values: call_rejected, normal_clearing, originator_cancel, timeout, time_limit, user_busy, not_found, no_answer, unspecified. */
export function telnyxOutcome(cause: string | undefined): CallOutcome {
  switch (cause) {
    case 'normal_clearing':
    case 'time_limit':
      return 'completed';
    case 'user_busy':
      return 'busy';
    case 'originator_cancel':
    case 'timeout':
    case 'no_answer':
      return 'missed';
    default:
      return 'failed';
  }
}

function sipHeader(headers: Array<{ name: string; value: string }> | undefined, name: string): string | undefined {
  return headers?.find((h) => h.name.toLowerCase() === name.toLowerCase())?.value;
}

/**
 * Maps a verified Call Control webhook. The call is the call session (all its
 * legs); the incoming leg names the parties: its caller `from`, and the
 * tracking number from a forwarding carrier's Diversion or History-Info SIP
 * header when present, else `to`. A session's outgoing legs name them only
 * when it has no incoming leg (a call the site placed). Events without
 * `direction` (answered, hangup) fill in what nothing better names.
 */
export function mapTelnyxWebhook(body: unknown, country: string, siteId: string): ProviderEventMapping {
  const parsed = telnyxWebhookSchema.safeParse(body);
  if (!parsed.success) return { kind: 'invalid', problems: fieldProblems(body, parsed.error) };
  const { data } = parsed.data;
  if (!(TELNYX_CALL_EVENTS as readonly string[]).includes(data.event_type))
    return { kind: 'ignored', reason: `event ${data.event_type} says nothing about a call's state` };
  const event = data.event_type as TelnyxCallEvent;
  const p = data.payload;

  let parties: CallParties;
  if (p.direction === 'outgoing') {
    const calledNumber = phoneOrEmpty(p.to, country);
    if (!calledNumber) return { kind: 'ignored', reason: 'outgoing leg to a SIP address, not a phone number' };
    const line = phoneOrEmpty(p.from, country);
    parties = { direction: 'outbound', trackingNumber: line, callerNumber: line, calledNumber, rank: 1 };
  } else {
    const headers = [...(p.sip_headers ?? []), ...(p.custom_headers ?? [])];
    const trackingNumber =
      diversionNumber(sipHeader(headers, 'Diversion'), country) ??
      historyInfoNumber(sipHeader(headers, 'History-Info'), country) ??
      phoneOrEmpty(p.to, country);
    if (p.direction === 'incoming' && !trackingNumber) {
      return { kind: 'invalid', problems: [{ field: 'data.payload.to', problem: `"${p.to ?? ''}" is not a phone number (site country ${country})` }] };
    }
    const caller = readCaller(p.from, country);
    if (!caller.ok) return { kind: 'invalid', problems: [{ field: 'data.payload.from', problem: caller.problem }] };
    parties = { direction: 'inbound', trackingNumber, callerNumber: caller.number, calledNumber: '', rank: p.direction === 'incoming' ? 2 : 0 };
  }

  const occurred = { ms: Date.parse(data.occurred_at), exact: true };
  const started = p.start_time ? { ms: Date.parse(p.start_time), exact: true } : undefined;
  const observation: CallObservation = {
    provider: 'telnyx',
    providerCallId: (p.call_session_id ?? p.call_control_id)!,
    stage: CallStage.start,
    providerSequence: 0,
    parties,
    startedAt: started ?? (event === 'call.initiated' ? occurred : { ...occurred, exact: false }),
  };
  if (event === 'call.answered' || event === 'call.bridged') {
    observation.stage = CallStage.answer;
    observation.answeredAt = occurred;
  } else if (event === 'call.hangup') {
    observation.stage = CallStage.end;
    observation.endedAt = p.end_time ? { ms: Date.parse(p.end_time), exact: true } : occurred;
    observation.outcome = telnyxOutcome(p.hangup_cause);
    // A call cleared normally was answered; without its call.answered, the start stands in.
    if (observation.outcome === 'completed') observation.answeredAt = { ...observation.startedAt!, exact: false };
  }
  // data.id is the event's id: the same on every delivery attempt.
  const timeFields = {
    startedAt: p.start_time ? 'data.payload.start_time' : 'data.occurred_at',
    answeredAt: observation.stage === CallStage.end ? 'data.payload.start_time' : 'data.occurred_at',
    endedAt: p.end_time ? 'data.payload.end_time' : 'data.occurred_at',
  };
  return { kind: 'call', observation, eventId: eventIdOf('telnyx', siteId, data.id), timeFields };
}
