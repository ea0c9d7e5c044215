import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { calltrack } from '@calltrack/contracts';
import type { HistoryCall, LeaseCandidate, MatchDecision, VisitSource } from '../../matching/call-matching.js';
import type { CallReport, MatchedReport } from '../call-evaluation.js';
import { stateWaitFor } from './wait-for-state.js';

const NOW = Date.parse('2026-10-05T07:00:00Z');
const WAIT = 5_000;
const report = (callId: string, over: Partial<calltrack.events.v1.ICallReported> = {}): CallReport => ({
  siteId: 'shop',
  callId,
  reportEventId: `e-${callId}`,
  call: calltrack.events.v1.CallReported.fromObject({ callId, trackingNumber: '+74951000001', callerNumber: '+79160000001', ...over }),
  verdict: 0,
  verdictReason: '',
  keyStartMs: NOW,
  reportVersion: 1,
  occurredAtMs: NOW,
});
const lease = {
  siteId: 'shop',
  leaseId: 'l',
  sessionId: 's',
  visitorId: 'v',
  trackingNumber: '+74951000001',
  grantedAtMs: NOW - 1000,
  expiresAtMs: NOW + 60_000,
  releasedAtMs: null,
} as LeaseCandidate;
const dynamic: MatchDecision = { method: 'dynamic', lease, reason: 'lease_active', stateMayBeBehind: false, confidence: 1 };
const visits = new Map<string, VisitSource>([['shop\ns', { sessionId: 's' } as VisitSource]]);

describe('stateWaitFor', () => {
  const fresh = (r: CallReport, publishedAtMs = NOW) => [{ report: r, publishedAtMs }];

  it('waits for nothing once the lease and its visit are stored', () => {
    const r = report('c');
    assert.equal(stateWaitFor(fresh(r), [{ report: r, decision: dynamic }], visits, WAIT, NOW + 100), 0);
  });

  it('polls again while a fresh call may still get its lease or visit, until its time is up', () => {
    const r = report('c');
    const unmatched: MatchedReport = { report: r, decision: { method: 'unmatched', reason: 'no_lease_for_number' } };
    assert.equal(stateWaitFor(fresh(r), [unmatched], visits, WAIT, NOW + 100), 250);
    assert.equal(stateWaitFor(fresh(r), [{ report: r, decision: dynamic }], new Map(), WAIT, NOW + 4_900), 100, 'no visit yet: up to the deadline');
    assert.equal(stateWaitFor(fresh(r), [unmatched], visits, WAIT, NOW + WAIT), 0, 'time is up: the match stands');
  });

  it('lets a repeat caller wait for a lease in flight, never an outbound call or a stored call evaluated again', () => {
    const r = report('c');
    const repeat: MatchDecision = { method: 'repeat_caller', source: { callId: 'earlier' } as HistoryCall, confidence: 0.5 };
    assert.equal(stateWaitFor(fresh(r), [{ report: r, decision: repeat }], visits, WAIT, NOW), 250);
    const out = report('o', { direction: calltrack.events.v1.CallDirection.CALL_DIRECTION_OUTBOUND });
    assert.equal(stateWaitFor(fresh(out), [{ report: out, decision: { method: 'unmatched', reason: 'no_lease_for_number' } }], visits, WAIT, NOW), 0);
    assert.equal(stateWaitFor([], [{ report: r, decision: { method: 'unmatched', reason: 'no_lease_for_number' } }], visits, WAIT, NOW), 0);
  });
});
