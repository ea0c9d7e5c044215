import { calltrack, type EventInput } from '@calltrack/contracts';
import type { CallProvider } from '../sites/provider-credentials.js';

const { CallStatus, CallDirection } = calltrack.events.v1;

/** A CallReported as this service publishes it: always naming its call and provider (the record key and the counters read them). */
export type CallReportPayload = EventInput<'CallReported'> & { callId: string; provider: string };

/**
 * How far along its life a provider event puts a call. A later stage always
 * outranks an earlier one, whatever order the events arrive in: `end` beats
 * `answer` beats `start`; `final` is a provider's end-of-call summary (Mango
 * summary, Asterisk CDR), which beats its own per-leg events.
 */
export const CallStage = { start: 1, answer: 2, end: 3, final: 4 } as const;
export type CallStage = (typeof CallStage)[keyof typeof CallStage];

/** How a call ended, as the provider tells it. */
export type CallOutcome = 'completed' | 'missed' | 'busy' | 'failed';

/** A time the event gives: `exact` when the provider states it, else derived (e.g. end minus duration). */
export interface EventTime {
  ms: number;
  exact: boolean;
}

/** Who called whom, as far as one event tells. Empty strings: the event does not say. */
export interface CallParties {
  direction: 'inbound' | 'outbound';
  /** Inbound: the number dialled (the tracking number). Outbound: the site's line the call was placed from. */
  trackingNumber: string;
  /** Inbound: the caller. Outbound: the site's line. Empty when withheld or unknown. */
  callerNumber: string;
  /** Outbound: the number dialled. */
  calledNumber: string;
  /** How much this event knows about the parties: a higher rank's non-empty fields win. */
  rank: number;
}

/**
 * What a provider's signature binds an event to, for providers whose
 * signature leaves out the call id and the outcome (Zadarma): a later event of
 * the call must agree with the first on the fields both carry, one signature
 * names one call, and only one final event is accepted per call.
 */
export interface SignedCallFacts {
  /** Signed fields that name the call (caller, number dialled, start…), by the provider's field name. */
  fields: Record<string, string>;
  /** The signed values themselves: a signature seen on one call cannot name another. */
  signature: string;
  /** The event ends the call (its outcome and duration are unsigned): one per call. */
  final: boolean;
}

/** What one provider event says about one call: each adapter maps its events to this. */
export interface CallObservation {
  provider: CallProvider;
  providerCallId: string;
  stage: CallStage;
  /** The provider's own ordering of a call's events (0 when it has none): orders events within a stage. */
  providerSequence: number;
  parties?: CallParties;
  startedAt?: EventTime;
  answeredAt?: EventTime;
  endedAt?: EventTime;
  /** For end and final stages. */
  outcome?: CallOutcome;
  recordingUrl?: string;
  /** Set by adapters whose signature does not cover the call id (see SignedCallFacts). */
  signed?: SignedCallFacts;
}

/** Everything known about one call: the merge of its observations, in any order. */
export interface MergedCall {
  provider: CallProvider;
  providerCallId: string;
  /** `stage · 2^28 + provider sequence` of the most advanced observation: the published `sequence`. */
  sequence: number;
  parties: CallParties | undefined;
  startedAt: EventTime | undefined;
  answeredAt: EventTime | undefined;
  endedAt: EventTime | undefined;
  /** Outcome of the most advanced end or final observation. */
  outcome: { value: CallOutcome; sequence: number } | undefined;
  recordingUrl: { value: string; sequence: number } | undefined;
}

const STAGE_FACTOR = 2 ** 28;
const MAX_PROVIDER_SEQUENCE = STAGE_FACTOR - 1;

/** The report sequence of an observation: stage first, then the provider's own order within the stage. */
export function observationSequence(o: Pick<CallObservation, 'stage' | 'providerSequence'>): number {
  return o.stage * STAGE_FACTOR + Math.min(Math.max(0, Math.trunc(o.providerSequence)), MAX_PROVIDER_SEQUENCE);
}

export const stageOfSequence = (sequence: number): number => Math.floor(sequence / STAGE_FACTOR);

// An exact time beats a derived one; among equals the earliest start/answer or the latest end wins.
function pickTime(a: EventTime | undefined, b: EventTime | undefined, prefer: 'min' | 'max'): EventTime | undefined {
  if (!a || a.ms <= 0) return b && b.ms > 0 ? b : undefined;
  if (!b || b.ms <= 0) return a;
  if (a.exact !== b.exact) return a.exact ? a : b;
  if (a.ms === b.ms) return a;
  return (prefer === 'min' ? a.ms < b.ms : a.ms > b.ms) ? a : b;
}

function better(a: CallParties, aSeq: number, b: CallParties, bSeq: number): boolean {
  if (a.rank !== b.rank) return a.rank > b.rank;
  if (aSeq !== bSeq) return aSeq > bSeq;
  // Same rank and sequence: any fixed order keeps the merge independent of arrival order.
  return `${a.direction}|${a.trackingNumber}|${a.callerNumber}|${a.calledNumber}` >= `${b.direction}|${b.trackingNumber}|${b.callerNumber}|${b.calledNumber}`;
}

// The better side's fields, its empty ones filled from the other (an event that does not name a party says nothing about it).
function mergeParties(a: CallParties | undefined, aSeq: number, b: CallParties | undefined, bSeq: number): CallParties | undefined {
  if (!a) return b;
  if (!b) return a;
  const [hi, lo] = better(a, aSeq, b, bSeq) ? [a, b] : [b, a];
  const sameSide = hi.direction === lo.direction;
  return {
    direction: hi.direction,
    trackingNumber: hi.trackingNumber || (sameSide ? lo.trackingNumber : ''),
    callerNumber: hi.callerNumber || (sameSide ? lo.callerNumber : ''),
    calledNumber: hi.calledNumber || (sameSide ? lo.calledNumber : ''),
    rank: hi.rank,
  };
}

// Ties between two legs' outcomes of the same sequence: the most telling one, so arrival order does not matter.
const OUTCOME_RANK: Record<CallOutcome, number> = { completed: 3, busy: 2, failed: 1, missed: 0 };

function newer<V, K extends number | string>(
  a: { value: V; sequence: number } | undefined,
  b: { value: V; sequence: number } | undefined,
  order: (v: V) => K,
): { value: V; sequence: number } | undefined {
  if (!a) return b;
  if (!b) return a;
  if (a.sequence !== b.sequence) return b.sequence > a.sequence ? b : a;
  return order(b.value) > order(a.value) ? b : a;
}

/** A call known from one observation. */
export function callFromObservation(o: CallObservation): MergedCall {
  const sequence = observationSequence(o);
  return {
    provider: o.provider,
    providerCallId: o.providerCallId,
    sequence,
    parties: o.parties ? { ...o.parties } : undefined,
    startedAt: pickTime(o.startedAt, undefined, 'min'),
    answeredAt: pickTime(o.answeredAt, undefined, 'min'),
    endedAt: pickTime(o.endedAt, undefined, 'max'),
    outcome: o.outcome && o.stage >= CallStage.end ? { value: o.outcome, sequence } : undefined,
    recordingUrl: o.recordingUrl ? { value: o.recordingUrl, sequence } : undefined,
  };
}

/**
 * Merges an observation into what is known of its call. Commutative and
 * idempotent: repeated and out-of-order events end in the same call record.
 */
export function mergeObservation(call: MergedCall | undefined, o: CallObservation): MergedCall {
  const next = callFromObservation(o);
  if (!call) return next;
  return {
    provider: call.provider,
    providerCallId: call.providerCallId,
    sequence: Math.max(call.sequence, next.sequence),
    parties: mergeParties(call.parties, call.sequence, next.parties, next.sequence),
    startedAt: pickTime(call.startedAt, next.startedAt, 'min'),
    answeredAt: pickTime(call.answeredAt, next.answeredAt, 'min'),
    endedAt: pickTime(call.endedAt, next.endedAt, 'max'),
    outcome: newer(call.outcome, next.outcome, (o) => OUTCOME_RANK[o]),
    recordingUrl: newer(call.recordingUrl, next.recordingUrl, (u) => u),
  };
}

/** Why a merged call cannot be reported yet. */
export type NotReportable = 'no_tracking_number';

/**
 * The CallReported payload of a merged call. A call is answered once an answer
 * time is known or its provider said it completed; once ended, an answered call
 * is `completed` whatever a leg's outcome said. Inbound calls wait (not
 * reportable) until some event names the dialled number; outbound calls whose
 * provider does not name the line are reported from the site's default number.
 */
export function callReport(
  call: MergedCall,
  site: { defaultNumber: string },
): { ok: true; payload: CallReportPayload; occurredAtMs: number } | { ok: false; reason: NotReportable } {
  const parties = call.parties ?? { direction: 'inbound' as const, trackingNumber: '', callerNumber: '', calledNumber: '', rank: 0 };
  const outbound = parties.direction === 'outbound';
  const trackingNumber = parties.trackingNumber || (outbound ? site.defaultNumber : '');
  if (!trackingNumber) return { ok: false, reason: 'no_tracking_number' };

  const ended = stageOfSequence(call.sequence) >= CallStage.end;
  const answered = (call.answeredAt?.ms ?? 0) > 0 || call.outcome?.value === 'completed';
  const STATUS = {
    completed: CallStatus.CALL_STATUS_COMPLETED,
    missed: CallStatus.CALL_STATUS_MISSED,
    busy: CallStatus.CALL_STATUS_BUSY,
    failed: CallStatus.CALL_STATUS_FAILED,
  };
  let status: calltrack.events.v1.CallStatus;
  if (ended) status = answered ? STATUS.completed : STATUS[call.outcome?.value ?? 'missed'];
  else status = answered ? CallStatus.CALL_STATUS_ANSWERED : CallStatus.CALL_STATUS_RINGING;

  // Derived times can disagree by a second or two: keep start <= answer <= end.
  const endedAtMs = ended ? (call.endedAt?.ms ?? 0) : 0;
  const known = [call.startedAt?.ms, call.answeredAt?.ms, call.endedAt?.ms].filter((t): t is number => t !== undefined && t > 0);
  // Every observation carries some time; a call known only from its answer or end started no later than that.
  const startedAtMs = known.length > 0 ? Math.min(...known) : 0;
  let answeredAtMs = answered ? (call.answeredAt?.ms ?? 0) : 0;
  if (answeredAtMs && endedAtMs && answeredAtMs > endedAtMs) answeredAtMs = endedAtMs;
  const callId = `${call.provider}:${call.providerCallId}`;
  return {
    ok: true,
    occurredAtMs: Math.max(startedAtMs, answeredAtMs, endedAtMs),
    payload: {
      callId,
      provider: call.provider,
      providerCallId: call.providerCallId,
      trackingNumber,
      callerNumber: outbound ? parties.callerNumber || trackingNumber : parties.callerNumber,
      direction: outbound ? CallDirection.CALL_DIRECTION_OUTBOUND : CallDirection.CALL_DIRECTION_INBOUND,
      status,
      startedAtMs,
      answeredAtMs,
      endedAtMs,
      recordingUrl: call.recordingUrl?.value ?? '',
      sequence: call.sequence,
      calledNumber: outbound ? parties.calledNumber : '',
    },
  };
}
