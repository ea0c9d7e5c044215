import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_EVENT_TIME_WINDOW } from '../intake/event-time-window.js';
import { CallStage, type CallObservation } from './call-merge.js';
import { observationProblems } from './observation-problems.js';

const NOW = Date.UTC(2026, 11, 2, 6, 0, 0);

const observation = (o: Partial<CallObservation> = {}): CallObservation => ({
  provider: 'twilio',
  providerCallId: 'CA0123',
  stage: CallStage.end,
  providerSequence: 0,
  startedAt: { ms: NOW - 60_000, exact: true },
  endedAt: { ms: NOW - 1000, exact: true },
  ...o,
});

describe('what no adapter may pass on (observationProblems)', () => {
  it('passes an observation with a valid id and times inside the window', () => {
    assert.deepEqual(observationProblems(observation(), NOW, DEFAULT_EVENT_TIME_WINDOW), []);
  });

  it("names a time outside the window by the provider's field it came from", () => {
    const old = observation({ startedAt: { ms: Date.UTC(2001, 0, 1), exact: true } });
    assert.deepEqual(
      observationProblems(old, NOW, DEFAULT_EVENT_TIME_WINDOW, { startedAt: 'Timestamp' }).map((p) => p.field),
      ['Timestamp'],
    );
    assert.deepEqual(
      observationProblems(old, NOW, DEFAULT_EVENT_TIME_WINDOW).map((p) => p.field),
      ['startedAt'],
    );
  });

  it('refuses a call id outside the id rule', () => {
    const problems = observationProblems(observation({ providerCallId: 'a b' }), NOW, DEFAULT_EVENT_TIME_WINDOW);
    assert.deepEqual(
      problems.map((p) => p.field),
      ['call id'],
    );
  });
});
