import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WriterFences } from './writer-fence.js';

const claim = { type: 'PoolWriterClaimed' };
const by = (writerEpoch: number) => ({ type: 'LeaseExpired', writerEpoch });

describe('writer fences', () => {
  it("drops a former owner's event written after a newer claim, keeps the ones before it", () => {
    const f = new WriterFences();
    assert.equal(f.admit(0, 4, claim), true); // owner A: epoch 5
    assert.equal(f.admit(0, 6, by(5)), true);
    assert.equal(f.admit(0, 9, claim), true); // owner B: epoch 10
    assert.equal(f.admit(0, 8, by(5)), true, 'before the claim (a redelivery) it is still a fact');
    assert.equal(f.admit(0, 11, by(5)), false, "A's late sweep");
    assert.equal(f.admit(0, 12, by(10)), true);
    assert.equal(f.admit(1, 12, by(5)), true, 'another partition has its own fence');
  });

  it('keeps events that no partition owner wrote (epoch 0)', () => {
    const f = new WriterFences();
    f.admit(0, 0, claim);
    assert.equal(f.admit(0, 3, { type: 'PromoCodeRedeemed' }), true);
  });

  it("learns the fence from a new owner's event when the reader started after the claim", () => {
    const f = new WriterFences();
    assert.equal(f.admit(2, 100, by(50)), true);
    assert.equal(f.admit(2, 101, by(90)), true); // B claimed at 89
    assert.equal(f.admit(2, 102, by(50)), false);
    assert.equal(f.epochOf(2), 90);
  });

  it('starts from a snapshot fence', () => {
    const f = new WriterFences();
    f.set(3, 40);
    assert.equal(f.admit(3, 41, by(20)), false);
    assert.equal(f.admit(3, 41, by(40)), true);
  });
});
