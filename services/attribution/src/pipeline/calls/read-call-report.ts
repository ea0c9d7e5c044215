import type { DomainEvent } from '@calltrack/contracts';
import { readScreenedCall } from '../../store/row-mappers.js';
import type { CallReport } from '../call-evaluation.js';
import { callVersion } from '../call-version.js';
import { mapResult, type StepResult } from '../../step-result.js';

/** The report a CallScreened carries, or a dead letter for a call that cannot be stored (no id, no tracking number, a time ClickHouse cannot hold). */
export function readCallReport(event: DomainEvent<'CallScreened'>): StepResult<CallReport> {
  return mapResult(readScreenedCall(event), ({ call, callId, startedAtMs }) => ({
    siteId: event.siteId,
    callId,
    reportEventId: event.eventId,
    call,
    verdict: event.payload.verdict,
    verdictReason: event.payload.reason,
    keyStartMs: startedAtMs,
    reportVersion: callVersion(call),
    occurredAtMs: event.occurredAtMs,
  }));
}
