import { calltrack } from '@calltrack/contracts';
import { CallStage, stageOfSequence, type SignedCallFacts } from '../../calls/call-merge.js';

const { CallDirection } = calltrack.events.v1;

/** The signed values of an inbound Zadarma call (start, internal, end) as a report states them. */
export const inboundSignature = (caller: string, dialled: string, start: string): string => `in\n${caller}\n${dialled}\n${start}`;

/**
 * The signed facts a published report of a Zadarma call states (what rebuilds
 * SignedCallLedger from the calls topic): an inbound call's caller, dialled
 * number and start, an outgoing call's destination and start; final when the
 * report is of an end. The dialled number is left out of a report at the
 * answer stage, whose number may be the answer's `destination`.
 */
export function signedFactsOfReport(report: {
  provider: string;
  direction: number;
  callerNumber: string;
  trackingNumber: string;
  calledNumber: string;
  startedAtMs: number | string | { toString(): string };
  sequence: number;
}): SignedCallFacts | undefined {
  if (report.provider !== 'zadarma') return undefined;
  const start = String(report.startedAtMs);
  const stage = stageOfSequence(report.sequence);
  const final = stage >= CallStage.end;
  if (report.direction === CallDirection.CALL_DIRECTION_OUTBOUND) {
    return { fields: { direction: 'outbound', destination: report.calledNumber, call_start: start }, signature: '', final };
  }
  if (stage === CallStage.answer) return { fields: { direction: 'inbound', caller_id: report.callerNumber, call_start: start }, signature: '', final };
  return {
    fields: { direction: 'inbound', caller_id: report.callerNumber, called_did: report.trackingNumber, call_start: start },
    signature: inboundSignature(report.callerNumber, report.trackingNumber, start),
    final,
  };
}
