import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SignedCallFacts } from './call-merge.js';
import { SignedCallLedger } from './signed-call-ledger.js';

const start: SignedCallFacts = { fields: { caller_id: '79161234567', called_did: '74951234567', call_start: '2025-03-01 13:00:00', direction: 'inbound' }, signature: 'in\n79161234567\n74951234567\n2025-03-01 13:00:00', final: false };
const end: SignedCallFacts = { ...start, final: true };
const answer: SignedCallFacts = { fields: { caller_id: '79161234567', call_start: '2025-03-01 13:00:00', direction: 'inbound' }, signature: 'answer\n79161234567\n101\n2025-03-01 13:00:00', final: false };

describe('SignedCallLedger', () => {
  it('accepts a call\'s own notifications in any order, and a retry of its end', () => {
    const l = new SignedCallLedger();
    assert.ok(l.claim('s', 'k1', answer, 'e-a').ok);
    assert.ok(l.claim('s', 'k1', end, 'e-end').ok);
    assert.ok(l.claim('s', 'k1', start, 'e-s').ok);
    assert.ok(l.claim('s', 'k1', end, 'e-end').ok, 'the same end again (a retry)');
  });

  it('refuses a captured signature replayed under another call id (per site)', () => {
    const l = new SignedCallLedger();
    assert.ok(l.claim('s', 'k1', start, 'e1').ok);
    const r = l.claim('s', 'k2', end, 'e2');
    assert.deepEqual(r.ok ? undefined : r.field, 'Signature');
    assert.ok(l.claim('other-site', 'k2', start, 'e3').ok, 'another site has its own calls');
  });

  it('refuses a follow-up that disagrees with the first notification on a signed field', () => {
    const l = new SignedCallLedger();
    assert.ok(l.claim('s', 'k1', start, 'e1').ok);
    const r = l.claim('s', 'k1', { ...end, fields: { ...end.fields, call_start: '2025-03-01 12:00:00' }, signature: 'in\nx' }, 'e2');
    assert.deepEqual(r.ok ? undefined : r.field, 'call_start');
    const c = l.claim('s', 'k1', { ...answer, fields: { ...answer.fields, caller_id: '79160000000' }, signature: 'answer\ny' }, 'e3');
    assert.deepEqual(c.ok ? undefined : c.field, 'caller_id');
  });

  it('accepts one end per call: a replayed end with another disposition or duration is refused', () => {
    const l = new SignedCallLedger();
    assert.ok(l.claim('s', 'k1', end, 'e-end').ok);
    const r = l.claim('s', 'k1', end, 'e-end-forged');
    assert.deepEqual(r.ok ? undefined : r.field, 'event');
  });

  it('undoes a claim whose event was not stored, and forgets evicted calls', () => {
    const l = new SignedCallLedger();
    const c = l.claim('s', 'k1', end, 'e1');
    assert.ok(c.ok);
    c.undo();
    assert.equal(l.size(), 0);
    assert.ok(l.claim('s', 'k2', end, 'e2').ok, 'the signature is free again');
    l.forget('k2');
    assert.ok(l.claim('s', 'k3', end, 'e3').ok);
  });
});
