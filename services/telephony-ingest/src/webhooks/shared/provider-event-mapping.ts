import type { CallObservation } from '../../calls/call-merge.js';
import type { TimeFields } from '../../calls/observation-problems.js';
import type { FieldProblem } from '../../intake/field-problems.js';

/** What a provider's mapping made of one verified event (each webhooks/<provider>/*-mapping.ts returns this). */
export type ProviderEventMapping =
  /** timeFields: the provider's field each time comes from, named when it is refused as out of range. */
  | { kind: 'call'; observation: CallObservation; eventId: string; timeFields?: TimeFields }
  /** Verified, but of a kind that says nothing about a tracked call (IVR digits, an internal call…). */
  | { kind: 'ignored'; reason: string }
  | { kind: 'invalid'; problems: FieldProblem[] }
  /** Signed, but outside the replay window of a signature without a timestamp of its own (Zadarma's call_start). */
  | { kind: 'stale'; problem: string };
