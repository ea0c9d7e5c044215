import { z } from 'zod';
import { CallStage, type CallObservation, type CallParties } from '../../calls/call-merge.js';
import { eventIdOf } from '@calltrack/contracts';
import { fieldProblems, inEpochRange } from '../shared/form-body.js';
import { platformId } from '../../intake/ids.js';
import { phoneOrEmpty, readCaller } from '../../intake/phone-fields.js';
import type { ProviderEventMapping } from '../shared/provider-event-mapping.js';

// Mango sends counters and unix times as JSON numbers; some integrations relay them as strings.
const integer = z.union([
  z.number().int().nonnegative(),
  z
    .string()
    .regex(/^\d{1,12}$/)
    .transform(Number),
]);
const unixSeconds = integer.refine((s) => s === 0 || inEpochRange(s * 1000), 'expected unix seconds');
const str = z.union([z.string(), z.number().transform(String)]).optional();
const id = platformId();

const party = z.object({ extension: str, number: str, line_number: str }).partial().default({});

/** The fields of /events/call we read (Mango sends more). */
export const mangoCallEventSchema = z.object({
  entry_id: id,
  call_id: id,
  timestamp: unixSeconds,
  seq: integer,
  call_state: z.enum(['Appeared', 'Connected', 'OnHold', 'Disconnected']),
  location: z.string().max(40).optional(),
  from: party,
  to: party,
  // Mango's own call tracking: the number the caller saw (type 1 dynamic, 2 static; 0 none).
  dct: z.object({ number: str, type: integer.optional() }).partial().optional(),
});

/** The fields of /events/summary we read (sent once, when the call is over). */
export const mangoSummarySchema = z.object({
  entry_id: id,
  call_direction: integer.refine((d) => d <= 2, '0 internal, 1 incoming or 2 outgoing'),
  from: party,
  to: party,
  line_number: str,
  create_time: unixSeconds,
  forward_time: unixSeconds.optional(),
  talk_time: unixSeconds.optional(),
  end_time: unixSeconds.refine((s) => s > 0, 'a finished call has an end time'),
  entry_result: integer.refine((r) => r <= 1, '1 answered or 0 missed'),
});

function parseJson(json: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(json) };
  } catch {
    return { ok: false };
  }
}

const secondsAt = (s: number | undefined) => (s ? { ms: s * 1000, exact: true } : undefined);

/**
 * Maps a verified /events/call: one leg (`call_id`) of a call (`entry_id`).
 * A leg that ends (Disconnected) does not end the call — it may have been
 * transferred — so only /events/summary ends it. Incoming calls (from outside,
 * no `from.extension`) are dialled to the Mango call-tracking number `dct.number`
 * when there is one, else to the line `to.line_number`; an employee's call to an
 * outside number is outgoing; calls between employees are ignored.
 */
export function mapMangoCallEvent(json: string, country: string, siteId: string): ProviderEventMapping {
  const parsedJson = parseJson(json);
  if (!parsedJson.ok) return { kind: 'invalid', problems: [{ field: 'json', problem: 'is not valid JSON' }] };
  const parsed = mangoCallEventSchema.safeParse(parsedJson.value);
  if (!parsed.success) return { kind: 'invalid', problems: fieldProblems(parsedJson.value, parsed.error).map((p) => ({ ...p, field: `json.${p.field}` })) };
  const e = parsed.data;

  let parties: CallParties;
  if (!e.from.extension) {
    const trackingNumber = phoneOrEmpty(e.dct?.number, country) || phoneOrEmpty(e.to.line_number, country);
    const caller = readCaller(e.from.number, country);
    if (!caller.ok) return { kind: 'invalid', problems: [{ field: 'json.from.number', problem: caller.problem }] };
    parties = { direction: 'inbound', trackingNumber, callerNumber: caller.number, calledNumber: '', rank: 1 };
  } else {
    const calledNumber = e.to.extension ? '' : phoneOrEmpty(e.to.number, country);
    if (!calledNumber) return { kind: 'ignored', reason: 'call between employees' };
    const line = phoneOrEmpty(e.to.line_number, country);
    parties = { direction: 'outbound', trackingNumber: line, callerNumber: line, calledNumber, rank: 1 };
  }

  const at = { ms: e.timestamp * 1000, exact: true };
  const observation: CallObservation = { provider: 'mango', providerCallId: e.entry_id, stage: CallStage.start, providerSequence: e.seq, parties };
  const answeredHere = e.call_state === 'Connected' && (parties.direction === 'outbound' || e.location === 'abonent');
  if (answeredHere) {
    observation.stage = CallStage.answer;
    observation.answeredAt = at;
  } else if (e.call_state === 'OnHold') {
    // Only a connected call is put on hold.
    observation.stage = CallStage.answer;
    observation.answeredAt = { ...at, exact: false };
  } else {
    observation.startedAt = e.call_state === 'Appeared' ? at : { ...at, exact: false };
  }
  const timeFields = { startedAt: 'json.timestamp', answeredAt: 'json.timestamp', endedAt: 'json.timestamp' };
  return { kind: 'call', observation, eventId: eventIdOf('mango', siteId, `call\n${e.entry_id}\n${e.call_id}\n${e.seq}\n${e.call_state}`), timeFields };
}

/** Maps a verified /events/summary: the whole call, final. */
export function mapMangoSummary(json: string, country: string, siteId: string): ProviderEventMapping {
  const parsedJson = parseJson(json);
  if (!parsedJson.ok) return { kind: 'invalid', problems: [{ field: 'json', problem: 'is not valid JSON' }] };
  const parsed = mangoSummarySchema.safeParse(parsedJson.value);
  if (!parsed.success) return { kind: 'invalid', problems: fieldProblems(parsedJson.value, parsed.error).map((p) => ({ ...p, field: `json.${p.field}` })) };
  const s = parsed.data;
  if (s.call_direction === 0) return { kind: 'ignored', reason: 'internal call' };

  let parties: CallParties;
  if (s.call_direction === 1) {
    const trackingNumber = phoneOrEmpty(s.line_number, country) || phoneOrEmpty(s.to.number, country);
    if (!trackingNumber)
      return {
        kind: 'invalid',
        problems: [{ field: 'json.line_number', problem: `"${s.line_number ?? ''}" is not a phone number (site country ${country})` }],
      };
    const caller = readCaller(s.from.number, country);
    if (!caller.ok) return { kind: 'invalid', problems: [{ field: 'json.from.number', problem: caller.problem }] };
    parties = { direction: 'inbound', trackingNumber, callerNumber: caller.number, calledNumber: '', rank: 2 };
  } else {
    const calledNumber = phoneOrEmpty(s.to.number, country);
    if (!calledNumber) return { kind: 'ignored', reason: 'outgoing call to an extension, not a phone number' };
    const line = phoneOrEmpty(s.line_number, country) || phoneOrEmpty(s.from.number, country);
    parties = { direction: 'outbound', trackingNumber: line, callerNumber: line, calledNumber, rank: 2 };
  }

  const observation: CallObservation = {
    provider: 'mango',
    providerCallId: s.entry_id,
    stage: CallStage.final,
    providerSequence: 0,
    parties,
    startedAt: secondsAt(s.create_time) ?? { ms: s.end_time * 1000, exact: false },
    endedAt: secondsAt(s.end_time)!,
    outcome: s.entry_result === 1 ? 'completed' : 'missed',
  };
  const answeredAt = secondsAt(s.talk_time);
  if (answeredAt) observation.answeredAt = answeredAt;
  const timeFields = { startedAt: s.create_time ? 'json.create_time' : 'json.end_time', answeredAt: 'json.talk_time', endedAt: 'json.end_time' };
  return { kind: 'call', observation, eventId: eventIdOf('mango', siteId, `summary\n${s.entry_id}`), timeFields };
}
