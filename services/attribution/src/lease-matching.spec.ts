import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { calltrack, callStatusLabel, createEvent, verdictLabel } from '@calltrack/contracts';
import { matchLease, type LeaseCandidate } from './lease-matching.js';
import { callRow } from './row-mappers.js';

const lease = (id: string, granted: number, expires: number, released = 0): LeaseCandidate => ({ leaseId: id, sessionId: `s-${id}`, visitorId: `v-${id}`, grantedAtMs: granted, expiresAtMs: expires, releasedAtMs: released });
const MIN = 60_000;

describe('matchLease', () => {
  it('matches the live lease that held the number when the call started', () => {
    assert.deepEqual(matchLease([lease('a', 0, 15 * MIN)], 5 * MIN, 10 * MIN), { lease: lease('a', 0, 15 * MIN), reason: 'lease_active' });
  });

  it('matches a released lease within the grace period, not after it', () => {
    const l = lease('a', 0, 15 * MIN, 10 * MIN);
    assert.equal(matchLease([l], 19 * MIN, 10 * MIN)?.reason, 'lease_released_within_grace');
    assert.equal(matchLease([l], 21 * MIN, 10 * MIN), undefined);
  });

  it('prefers the latest grant when the number was leased again', () => {
    const old = lease('old', 0, 15 * MIN, 5 * MIN);
    const next = lease('new', 6 * MIN, 21 * MIN);
    assert.equal(matchLease([old, next], 7 * MIN, 10 * MIN)?.lease.leaseId, 'new');
    // Before the second grant the call still belongs to the first visitor.
    assert.equal(matchLease([old, next], 5 * MIN + 30_000, 10 * MIN)?.lease.leaseId, 'old');
  });

  it('ignores leases granted after the call started', () => {
    assert.equal(matchLease([lease('later', 10 * MIN, 25 * MIN)], 5 * MIN, 10 * MIN), undefined);
  });

  it('uses the expiry when no release was recorded yet', () => {
    assert.equal(matchLease([lease('a', 0, 15 * MIN)], 20 * MIN, 10 * MIN)?.reason, 'lease_released_within_grace');
  });
});

describe('call rows', () => {
  it('computes talk and waiting time and keeps labels readable', () => {
    const { CallStatus, Verdict, MatchMethod } = calltrack.events.v1;
    const e = createEvent(
      'CallAttributed',
      { call: { callId: 'c', status: CallStatus.CALL_STATUS_COMPLETED, startedAtMs: 1_000_000, answeredAtMs: 1_012_000, endedAtMs: 1_102_000, sequence: 3 }, verdict: Verdict.VERDICT_SPAM, method: MatchMethod.MATCH_METHOD_UNMATCHED, final: true },
      { siteId: 's', producer: 't' },
    );
    const row = callRow(e, 3);
    assert.equal(row['talk_seconds'], 90);
    assert.equal(row['wait_seconds'], 12);
    assert.equal(row['verdict'], 'spam');
    assert.equal(row['match_method'], 'unmatched');
    assert.equal(row['status'], 'completed');
    assert.equal(row['answered_at'], new Date(1_012_000).toISOString());
    assert.equal(callStatusLabel(CallStatus.CALL_STATUS_MISSED), 'missed');
    assert.equal(verdictLabel(undefined), 'unspecified');
  });

  it('counts the whole ring of a missed call as waiting time', () => {
    const e = createEvent('CallAttributed', { call: { callId: 'c', startedAtMs: 1_000_000, endedAtMs: 1_030_000 } }, { siteId: 's', producer: 't' });
    const row = callRow(e, 1);
    assert.equal(row['wait_seconds'], 30);
    assert.equal(row['talk_seconds'], 0);
    assert.equal(row['answered_at'], null);
  });
});
