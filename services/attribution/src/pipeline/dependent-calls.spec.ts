import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CallPosition } from '../store/call-lookups.js';
import { callsToFollow, type WrittenCall } from './dependent-calls.js';

const pos = (callId: string, atMs: number, p: Partial<CallPosition> = {}): CallPosition => ({
  siteId: 's',
  callId,
  number: '',
  visitorId: '',
  leadId: callId,
  atMs,
  spam: false,
  ...p,
});
const written = (callId: string, atMs: number, w: Partial<WrittenCall> = {}): WrittenCall => ({ siteId: 's', callId, number: '', visitorId: '', atMs, ...w });
const ids = (list: readonly CallPosition[]): string[] => list.map((p) => p.callId).sort();

describe('calls to follow after a write', () => {
  it('takes only the next call of each person key, not the whole later history', () => {
    // A busy visitor: 1000 calls; one arrives late in the middle.
    const history = Array.from({ length: 1000 }, (_, i) => pos(`c${String(i).padStart(4, '0')}`, 1000 * i, { visitorId: 'v1' }));
    const late = written('late', 500_500, { visitorId: 'v1' });
    const next = callsToFollow([late], [...history, pos('late', 500_500, { visitorId: 'v1' })]);
    assert.deepEqual(ids(next), ['c0501']);
  });

  it('follows each key of the written call: the caller number and the visitor', () => {
    const positions = [
      pos('a', 10, { number: '+1', visitorId: 'v' }),
      pos('b', 20, { number: '+1' }),
      pos('c', 30, { visitorId: 'v' }),
      pos('d', 40, { number: '+1', visitorId: 'v' }),
    ];
    assert.deepEqual(ids(callsToFollow([written('a', 10, { number: '+1', visitorId: 'v' })], positions)), ['b', 'c']);
  });

  it('orders calls of the same millisecond by call id, and stops at a call written in the same step', () => {
    const positions = [pos('x1', 10, { number: '+1' }), pos('x2', 10, { number: '+1' }), pos('x3', 10, { number: '+1' })];
    assert.deepEqual(ids(callsToFollow([written('x1', 10, { number: '+1' })], positions)), ['x2']);
    // x2 was written with x1: it was evaluated knowing x1, so only what follows x2 is taken.
    assert.deepEqual(ids(callsToFollow([written('x1', 10, { number: '+1' }), written('x2', 10, { number: '+1' })], positions)), ['x3']);
  });

  it("steps over spam (nobody's lead) and takes it along", () => {
    const positions = [
      pos('a', 10, { visitorId: 'v' }),
      pos('s1', 20, { visitorId: 'v', spam: true }),
      pos('b', 30, { visitorId: 'v' }),
      pos('c', 40, { visitorId: 'v' }),
    ];
    assert.deepEqual(ids(callsToFollow([written('a', 10, { visitorId: 'v' })], positions)), ['b', 's1']);
  });

  it('a call without caller number or visitor has no dependents; other sites are other people', () => {
    const positions = [pos('a', 10), pos('b', 20), pos('c', 30, { siteId: 'other', number: '+1' })];
    assert.deepEqual(callsToFollow([written('a', 10)], positions), []);
    assert.deepEqual(callsToFollow([written('z', 5, { number: '+1' })], positions), []);
  });

  it('takes every later call still in a lead the written call left', () => {
    const positions = [
      pos('a', 10, { visitorId: 'v', leadId: 'L' }),
      pos('b', 20, { visitorId: 'v', leadId: 'L' }),
      pos('c', 30, { number: '+2', leadId: 'L' }),
      pos('d', 5, { number: '+3', leadId: 'L' }),
    ];
    const next = callsToFollow([written('a', 10, { visitorId: 'v' })], positions, [{ siteId: 's', leadId: 'L', callId: 'a', atMs: 10 }]);
    assert.deepEqual(ids(next), ['b', 'c']);
  });
});
