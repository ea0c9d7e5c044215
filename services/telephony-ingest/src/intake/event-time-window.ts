import type { FieldProblem } from './field-problems.js';

/**
 * The one rule for times every adapter receives (provider webhooks, the generic
 * webhook, the enquiry API, Asterisk AMI): a time is accepted only when it lies
 * between `maxAgeMs` before the moment of receipt and `maxFutureMs` after it.
 * Anything else (year 9999, year 2001, seconds sent as milliseconds) is refused
 * at the edge with the field named, instead of being stored and dead-lettered
 * or turned into a 26-year wait downstream.
 */
export interface EventTimeWindow {
  maxAgeMs: number;
  maxFutureMs: number;
}

export const eventTimeWindow = (config: { EVENT_TIME_MAX_AGE_DAYS: number; EVENT_TIME_MAX_FUTURE_SECONDS: number }): EventTimeWindow => ({
  maxAgeMs: config.EVENT_TIME_MAX_AGE_DAYS * 86_400_000,
  maxFutureMs: config.EVENT_TIME_MAX_FUTURE_SECONDS * 1000,
});

/** The configuration's defaults (EVENT_TIME_MAX_AGE_DAYS=30, EVENT_TIME_MAX_FUTURE_SECONDS=300), for pure callers and tests. */
export const DEFAULT_EVENT_TIME_WINDOW: EventTimeWindow = { maxAgeMs: 30 * 86_400_000, maxFutureMs: 300_000 };

const iso = (ms: number) => (Number.isFinite(ms) && Math.abs(ms) < 8.64e15 ? new Date(ms).toISOString() : String(ms));

/** The problem of one time, or undefined when it is in the window. */
export function timeProblem(field: string, ms: number, nowMs: number, window: EventTimeWindow): FieldProblem | undefined {
  if (!Number.isFinite(ms)) return { field, problem: 'is not a time' };
  if (ms > nowMs + window.maxFutureMs) {
    return { field, problem: `${iso(ms)} is more than ${Math.round(window.maxFutureMs / 1000)} s in the future (server time ${iso(nowMs)})` };
  }
  if (ms < nowMs - window.maxAgeMs) {
    return { field, problem: `${iso(ms)} is more than ${Math.round(window.maxAgeMs / 86_400_000)} days in the past (server time ${iso(nowMs)})` };
  }
  return undefined;
}

/** The problems of several named times (undefined or 0 = not given, skipped). */
export function timeProblems(times: ReadonlyArray<readonly [field: string, ms: number | undefined]>, nowMs: number, window: EventTimeWindow): FieldProblem[] {
  const problems: FieldProblem[] = [];
  for (const [field, ms] of times) {
    if (ms === undefined || ms === 0) continue;
    const p = timeProblem(field, ms, nowMs, window);
    if (p) problems.push(p);
  }
  return problems;
}
