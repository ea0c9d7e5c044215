import { timeProblems, type EventTimeWindow } from '../intake/event-time-window.js';
import type { FieldProblem } from '../intake/field-problems.js';
import { idProblem } from '../intake/ids.js';
import type { CallObservation } from './call-merge.js';

/** The provider's field each time of an observation comes from, named when it is refused as out of range. */
export type TimeFields = Partial<Record<'startedAt' | 'answeredAt' | 'endedAt', string>>;

/**
 * What no adapter may pass on (docs/telephony-providers.md#what-every-adapter-refuses):
 * a call id outside the id rule, a time outside the window, each named by the
 * provider's field.
 */
export function observationProblems(observation: CallObservation, nowMs: number, window: EventTimeWindow, timeFields: TimeFields = {}): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const idIssue = idProblem(observation.providerCallId);
  if (idIssue) problems.push({ field: 'call id', problem: idIssue });
  const times = (['startedAt', 'answeredAt', 'endedAt'] as const).map((name) => [timeFields[name] ?? name, observation[name]?.ms] as const);
  problems.push(...timeProblems(times, nowMs, window));
  return problems;
}
