// How a call is classified for reports: first or repeat caller, target call, missed,
// missed and not called back, outside working hours or on a holiday, and the lead it
// belongs to. Pure functions over the call, the caller's other calls and the site's
// settings; docs/attribution.md states each rule with an example.
import type { AttributionSettings } from '../settings/attribution-settings.js';
import { isBefore } from '../matching/call-matching.js';
import { openingState } from './working-hours.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

export type CallerType = 'first' | 'repeat' | '';
export type CallbackStatus = '' | 'pending' | 'called_back' | 'not_called_back';

export interface Classification {
  callerType: CallerType;
  target: boolean;
  missed: boolean;
  callbackStatus: CallbackStatus;
  calledBackAtMs: number;
  callbackCallId: string;
  outsideHours: boolean;
  holiday: boolean;
  leadId: string;
}

/** What classification needs of the call itself. */
export interface ClassifiedCall {
  callId: string;
  direction: string;
  callerNumber: string;
  startedAtMs: number;
  /** 0 when never answered. */
  answeredAtMs: number;
  talkSeconds: number;
  final: boolean;
  spam: boolean;
}

/** What classification needs of the caller's other calls (stored, or earlier in the batch). */
export interface OtherCall {
  callId: string;
  direction: string;
  callerNumber: string;
  calledNumber: string;
  startedAtMs: number;
  leadId: string;
}

/**
 * Classifies a call. `others` may hold any calls of the site (the caller's earlier
 * inbound calls and outbound calls to the caller are picked out here); `nowMs` decides
 * whether a missed call's call-back window has passed.
 *
 * - caller type: inbound calls from a known number are "repeat" when the same number
 *   called in within `repeatCallerWindowDays` before, else "first"; withheld numbers and
 *   outbound calls have none.
 * - target: an inbound, non-spam call that was answered and talked at least
 *   `targetCallSeconds`.
 * - missed: an inbound call that reached a final status without being answered.
 * - call-back (missed calls): "called_back" when an outbound call to the caller's number
 *   started within `callbackWindowHours` after the missed call started (answered or not:
 *   the attempt counts); else "not_called_back" once that window has passed, "pending"
 *   before.
 * - outside hours / holiday: in the site's time zone (openingState).
 * - lead: a person's inbound calls form one lead while they start within
 *   `leadWindowDays` of the lead's first call; the lead id is that first call's id. A
 *   withheld number is its own lead each time; outbound calls belong to no lead.
 */
export function classifyCall(
  call: ClassifiedCall,
  others: readonly OtherCall[],
  settings: AttributionSettings,
  timeZone: string,
  nowMs: number,
): Classification {
  const inbound = call.direction === 'inbound';
  const answered = call.answeredAtMs > 0;
  const opening = openingState(call.startedAtMs, timeZone, settings.workingHours, settings.holidays);
  const result: Classification = {
    callerType: '',
    target: inbound && !call.spam && answered && call.talkSeconds >= settings.targetCallSeconds,
    missed: inbound && call.final && !answered,
    callbackStatus: '',
    calledBackAtMs: 0,
    callbackCallId: '',
    outsideHours: opening.outsideHours,
    holiday: opening.holiday,
    leadId: inbound ? call.callId : '',
  };
  if (!inbound) return result;

  const earlier = call.callerNumber
    ? others.filter((o) => o.direction === 'inbound' && o.callerNumber === call.callerNumber && o.callId !== call.callId && isBefore(o, call))
    : [];
  if (call.callerNumber) {
    const repeat = earlier.some((o) => call.startedAtMs - o.startedAtMs <= settings.repeatCallerWindowDays * DAY_MS);
    result.callerType = repeat ? 'repeat' : 'first';
    result.leadId = leadOf(call, earlier, settings.leadWindowDays * DAY_MS);
  }

  if (result.missed) {
    const windowEnd = call.startedAtMs + settings.callbackWindowHours * HOUR_MS;
    const callback = call.callerNumber
      ? others
          .filter((o) => o.direction === 'outbound' && o.calledNumber === call.callerNumber && o.startedAtMs >= call.startedAtMs && o.startedAtMs <= windowEnd)
          .sort((a, b) => a.startedAtMs - b.startedAtMs || (a.callId < b.callId ? -1 : 1))[0]
      : undefined;
    if (callback) {
      result.callbackStatus = 'called_back';
      result.calledBackAtMs = callback.startedAtMs;
      result.callbackCallId = callback.callId;
    } else {
      result.callbackStatus = nowMs >= windowEnd ? 'not_called_back' : 'pending';
    }
  }
  return result;
}

/**
 * The lead of a call: the lead of the caller's latest earlier call when that lead's
 * first call started at most `windowMs` before this one, else a new lead (this call).
 * A lead's window is fixed from its first call, so a steady trickle of calls does not
 * stay one lead for ever.
 */
function leadOf(call: ClassifiedCall, earlier: readonly OtherCall[], windowMs: number): string {
  let latest: OtherCall | undefined;
  for (const o of earlier) if (!latest || isBefore(latest, o)) latest = o;
  if (!latest) return call.callId;
  const leadId = latest.leadId || latest.callId;
  const first = leadId === latest.callId ? latest : earlier.find((o) => o.callId === leadId);
  return first && call.startedAtMs - first.startedAtMs <= windowMs ? leadId : call.callId;
}
