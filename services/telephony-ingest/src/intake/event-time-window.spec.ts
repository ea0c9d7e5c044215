import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_EVENT_TIME_WINDOW, timeProblem, timeProblems } from './event-time-window.js';

const NOW = Date.UTC(2026, 11, 2, 6, 0, 0);
const w = DEFAULT_EVENT_TIME_WINDOW;

describe('event time window (one rule for every adapter)', () => {
  it('accepts times from 30 days before receipt to 5 minutes after', () => {
    assert.equal(timeProblem('t', NOW, NOW, w), undefined);
    assert.equal(timeProblem('t', NOW - 30 * 86_400_000, NOW, w), undefined);
    assert.equal(timeProblem('t', NOW + 300_000, NOW, w), undefined);
  });

  it('refuses year 9999, year 2001 and times just outside, naming the field', () => {
    assert.match(timeProblem('call_start', Date.UTC(9999, 0, 1), NOW, w)!.problem, /in the future/);
    assert.match(timeProblem('call_start', Date.UTC(2001, 0, 1), NOW, w)!.problem, /30 days in the past/);
    assert.equal(timeProblem('endedAt', NOW + 301_000, NOW, w)!.field, 'endedAt');
    assert.ok(timeProblem('t', NOW - 30 * 86_400_000 - 1, NOW, w));
    assert.ok(timeProblem('t', Number.NaN, NOW, w));
  });

  it('skips absent times (0 or undefined) and lists every offending one', () => {
    const problems = timeProblems(
      [
        ['a', 0],
        ['b', undefined],
        ['c', NOW],
        ['d', Date.UTC(9999, 0, 1)],
        ['e', Date.UTC(2001, 0, 1)],
      ],
      NOW,
      w,
    );
    assert.deepEqual(
      problems.map((p) => p.field),
      ['d', 'e'],
    );
  });
});
