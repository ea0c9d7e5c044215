import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { derivedEventId } from './event-ids.js';

describe('derivedEventId', () => {
  it('joins the base and its qualifiers with ":", exactly as the ids already stored', () => {
    assert.equal(derivedEventId('0190f5c2-7d1e-7000-8000-000000000001', 'screened'), '0190f5c2-7d1e-7000-8000-000000000001:screened');
    assert.equal(derivedEventId('lease-1', 'expired'), 'lease-1:expired');
    assert.equal(derivedEventId('snap-1', 0), 'snap-1:0');
    assert.equal(derivedEventId('e1', 'attributed', 9_007_199_254_740_993n), 'e1:attributed:9007199254740993');
    assert.equal(derivedEventId('site-a', '+74951234567', 1_700_000_000_000, 'quarantine-ended'), 'site-a:+74951234567:1700000000000:quarantine-ended');
    // A qualifier holding ':' itself is kept as it is (promo redemptions by call or caller).
    assert.equal(derivedEventId('site-a', 'call:c1', 'promo'), 'site-a:call:c1:promo');
  });

  it('gives the same id for the same input every time (a redelivered record dedupes downstream)', () => {
    assert.equal(derivedEventId('e1', 'answer'), derivedEventId('e1', 'answer'));
    assert.notEqual(derivedEventId('e1', 'answer'), derivedEventId('e2', 'answer'));
  });

  it('is the base alone without qualifiers', () => {
    assert.equal(derivedEventId('e1'), 'e1');
  });
});
