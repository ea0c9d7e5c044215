import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SignedCallFacts } from './call-merge.js';
import { SignedCallLedger } from './signed-call-ledger.js';

const NOW = Date.UTC(2026, 11, 2, 6, 0, 0);
const START = String(NOW - 60_000);
const start: SignedCallFacts = {
  fields: { direction: 'inbound', caller_id: '+79161234567', called_did: '+74951234567', call_start: START },
  signature: `in\n+79161234567\n+74951234567\n${START}`,
  final: false,
};
const end: SignedCallFacts = { ...start, final: true };
const answer: SignedCallFacts = {
  fields: { direction: 'inbound', caller_id: '+79161234567', call_start: START },
  signature: `answer\n+79161234567\n101\n${START}`,
  final: false,
};
const HORIZON = 4 * 3600_000;
let clock = NOW;
const ledger = (capacity = 1000) => new SignedCallLedger(HORIZON, capacity, () => clock);

describe('SignedCallLedger', () => {
  it("accepts a call's own notifications in any order, and a retry of its end", () => {
    const l = ledger();
    assert.ok(l.claim('s', 'k1', answer, 'e-a').ok);
    assert.ok(l.claim('s', 'k1', end, 'e-end').ok);
    assert.ok(l.claim('s', 'k1', start, 'e-s').ok);
    assert.ok(l.claim('s', 'k1', end, 'e-end').ok, 'the same end again (a retry)');
  });

  it('refuses a captured signature replayed under another call id (per site)', () => {
    const l = ledger();
    assert.ok(l.claim('s', 'k1', start, 'e1').ok);
    const r = l.claim('s', 'k2', end, 'e2');
    assert.deepEqual(r.ok ? undefined : r.field, 'Signature');
    assert.ok(l.claim('other-site', 'k2', start, 'e3').ok, 'another site has its own calls');
  });

  it('refuses a follow-up that disagrees with the first notification on a signed field', () => {
    const l = ledger();
    assert.ok(l.claim('s', 'k1', start, 'e1').ok);
    const r = l.claim('s', 'k1', { ...end, fields: { ...end.fields, call_start: String(NOW - 3600_000) }, signature: 'in\nx' }, 'e2');
    assert.deepEqual(r.ok ? undefined : r.field, 'call_start');
    const c = l.claim('s', 'k1', { ...answer, fields: { ...answer.fields, caller_id: '+79160000000' }, signature: 'answer\ny' }, 'e3');
    assert.deepEqual(c.ok ? undefined : c.field, 'caller_id');
  });

  it('accepts one end per call: a replayed end with another disposition or duration is refused', () => {
    const l = ledger();
    assert.ok(l.claim('s', 'k1', end, 'e-end').ok);
    const r = l.claim('s', 'k1', end, 'e-end-forged');
    assert.deepEqual(r.ok ? undefined : r.field, 'event');
  });

  it('undoes a claim whose event was not stored, and forgets evicted calls', () => {
    const l = ledger();
    const c = l.claim('s', 'k1', end, 'e1');
    assert.ok(c.ok);
    c.undo();
    assert.equal(l.size(), 0);
    assert.ok(l.claim('s', 'k2', end, 'e2').ok, 'the signature is free again');
    l.forget('k2');
    assert.ok(l.claim('s', 'k3', end, 'e3').ok);
  });

  it('is rebuilt from published reports: after a restart a replayed end under a new id, or a second end, is still refused', () => {
    const l = ledger();
    // What the calls topic says: the start, then the end (a report without the answer's signature).
    l.observe('s', 'k1', start, 'e-s');
    l.observe('s', 'k1', end, 'e-end');
    l.observe('s', 'k1', end, 'e-end'); // applied twice (own report read back): nothing changes
    assert.deepEqual((l.claim('s', 'k2', end, 'e-x') as { field?: string }).field, 'Signature');
    assert.deepEqual((l.claim('s', 'k1', end, 'e-forged') as { field?: string }).field, 'event');
    assert.ok(l.claim('s', 'k1', end, 'e-end').ok, 'the accepted end itself (a retry)');
    // A report without a signature (answer stage, outgoing) binds fields only.
    l.observe('s', 'k3', { ...answer, signature: '' }, 'e-a');
    assert.deepEqual(
      (l.claim('s', 'k3', { ...start, fields: { ...start.fields, caller_id: '+79160000000' }, signature: 'in\nother' }, 'e-b') as { field?: string }).field,
      'caller_id',
    );
  });

  it('keeps a call only while its notifications can pass the replay window, and at most its capacity', () => {
    clock = NOW;
    const l = ledger(3);
    l.observe('s', 'old', { ...end, fields: { ...end.fields, call_start: String(NOW - HORIZON - 1) }, signature: 'in\nold' }, 'e');
    assert.equal(l.size(), 0, 'past the horizon: never recorded');
    for (const k of ['a', 'b', 'c', 'd']) l.observe('s', k, { ...start, signature: `in\n${k}` }, k);
    assert.equal(l.size(), 3, 'the oldest first out');
    assert.ok(l.claim('s', 'x', { ...start, signature: 'in\na' }, 'x').ok, 'the evicted call no longer owns its signature');
    clock = NOW + HORIZON;
    for (let i = 0; i < 1100; i++)
      l.observe('s', `n${i % 3}`, { ...start, fields: { ...start.fields, call_start: String(clock) }, signature: `in\nn${i % 3}` }, `n${i}`);
    assert.equal(l.size(), 3);
    clock = NOW;
  });
});
