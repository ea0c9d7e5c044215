import { calltrack } from '@calltrack/contracts';

const { CallStatus } = calltrack.events.v1;

// How far a status is along a call's life; breaks ties between reports with the same sequence.
const STATUS_RANK: Readonly<Record<number, number>> = {
  [CallStatus.CALL_STATUS_UNSPECIFIED]: 0,
  [CallStatus.CALL_STATUS_RINGING]: 1,
  [CallStatus.CALL_STATUS_ANSWERED]: 2,
  [CallStatus.CALL_STATUS_COMPLETED]: 3,
  [CallStatus.CALL_STATUS_MISSED]: 3,
  [CallStatus.CALL_STATUS_BUSY]: 3,
  [CallStatus.CALL_STATUS_FAILED]: 3,
};

const FINAL_STATUSES: ReadonlySet<number> = new Set([
  CallStatus.CALL_STATUS_COMPLETED,
  CallStatus.CALL_STATUS_MISSED,
  CallStatus.CALL_STATUS_BUSY,
  CallStatus.CALL_STATUS_FAILED,
]);

/** True for the statuses after which a call does not change any more. */
export function isFinalStatus(status: number | null | undefined): boolean {
  return FINAL_STATUSES.has(status ?? 0);
}

/**
 * The `calls.version` of a report: the provider's sequence first, then how far the
 * status is along (a final status outranks `answered`, which outranks `ringing`) for
 * reports that share a sequence. ReplacingMergeTree keeps the highest version, so the
 * latest provider report wins whatever order the reports arrive in. At most
 * 2^32 · 16, well inside a JS number and UInt64.
 */
export function callVersion(call: { sequence?: number | null; status?: number | null }): number {
  return (call.sequence ?? 0) * 16 + (STATUS_RANK[call.status ?? 0] ?? 0);
}

/**
 * Whether a report must be dropped because a newer state of the call is already
 * stored or accepted: strictly lower versions only, so a redelivered report (same
 * version) is stored and published again, idempotently under the same event id.
 */
export function isSuperseded(version: number, knownVersion: number | undefined): boolean {
  return knownVersion !== undefined && version < knownVersion;
}
