import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { calltrack } from '@calltrack/contracts';
import { callVersion, isFinalStatus, isSuperseded } from './call-version.js';

const { CallStatus } = calltrack.events.v1;

describe('callVersion', () => {
  it('orders reports by the provider sequence first', () => {
    const ringingLater = callVersion({ sequence: 5, status: CallStatus.CALL_STATUS_RINGING });
    const completedEarlier = callVersion({ sequence: 4, status: CallStatus.CALL_STATUS_COMPLETED });
    assert.ok(ringingLater > completedEarlier, 'a higher sequence wins even with a less advanced status');
  });

  it('breaks a tie in sequence by how far the status is along', () => {
    const v = (status: number) => callVersion({ sequence: 7, status });
    assert.ok(v(CallStatus.CALL_STATUS_RINGING) < v(CallStatus.CALL_STATUS_ANSWERED));
    assert.ok(v(CallStatus.CALL_STATUS_ANSWERED) < v(CallStatus.CALL_STATUS_COMPLETED));
    assert.equal(v(CallStatus.CALL_STATUS_MISSED), v(CallStatus.CALL_STATUS_COMPLETED));
  });

  it('works without a sequence and stays exact for the largest one', () => {
    assert.equal(callVersion({}), 0);
    assert.equal(callVersion({ status: CallStatus.CALL_STATUS_ANSWERED }), 2);
    const max = callVersion({ sequence: 0xffff_ffff, status: CallStatus.CALL_STATUS_FAILED });
    assert.ok(Number.isSafeInteger(max));
    assert.equal(max, 0xffff_ffff * 16 + 3);
  });
});

describe('isSuperseded', () => {
  it('drops only strictly older reports: a redelivered report of the same version goes through', () => {
    assert.equal(isSuperseded(10, undefined), false);
    assert.equal(isSuperseded(10, 10), false);
    assert.equal(isSuperseded(11, 10), false);
    assert.equal(isSuperseded(9, 10), true);
  });
});

describe('isFinalStatus', () => {
  it('is true for completed, missed, busy and failed only', () => {
    const finals = Object.values(CallStatus).filter((s) => typeof s === 'number' && isFinalStatus(s));
    assert.deepEqual(
      finals.sort(),
      [CallStatus.CALL_STATUS_COMPLETED, CallStatus.CALL_STATUS_MISSED, CallStatus.CALL_STATUS_BUSY, CallStatus.CALL_STATUS_FAILED].sort(),
    );
    assert.equal(isFinalStatus(undefined), false);
  });
});
