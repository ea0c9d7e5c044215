import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { calltrack, createEvent } from '@calltrack/contracts';
import { readCallReport } from './read-call-report.js';

const { CallStatus, Verdict } = calltrack.events.v1;
const T0 = Date.parse('2026-10-05T07:00:00Z');
const screened = (call: object | undefined, verdict = Verdict.VERDICT_CLEAN) =>
  createEvent('CallScreened', { ...(call ? { call } : {}), verdict, reason: 'r' }, { siteId: 'shop', producer: 'test', occurredAtMs: T0 });

describe('readCallReport', () => {
  it('reads the report a CallScreened carries, versioned by its sequence and status', () => {
    const read = readCallReport(
      screened({ callId: 'c', trackingNumber: '+7495', startedAtMs: T0 - 1000, sequence: 2, status: CallStatus.CALL_STATUS_COMPLETED }),
    );
    assert.ok(read.ok);
    assert.deepEqual([read.value.callId, read.value.keyStartMs, read.value.verdictReason], ['c', T0 - 1000, 'r']);
    assert.ok(read.value.reportVersion > 16, 'sequence 2');
  });

  it('says dead letter, with the reason, for a call that cannot be stored (it does not throw)', () => {
    assert.deepEqual(readCallReport(screened(undefined)), { ok: false, outcome: 'dead_letter', reason: 'CallScreened without a call' });
    const read = readCallReport(screened({ callId: 'c' }));
    assert.ok(!read.ok && read.outcome === 'dead_letter' && /trackingNumber is missing/.test(read.reason));
  });
});
