import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { creditPath, pathWithin, type Touch } from './attribution-models.js';
import { markovRemovalEffects } from './markov-chain.js';

const DAY = 24 * 3600_000;
const close = (actual: number[], expected: number[]) => {
  assert.equal(actual.length, expected.length);
  actual.forEach((a, i) => assert.ok(Math.abs(a - expected[i]!) < 1e-9, `credit ${i}: ${a} ≠ ${expected[i]} (${actual.join(', ')})`));
};
const touch = (channel: string, day: number, id = `${channel}-${day}`): Touch => ({ sessionId: id, channel, startedAtMs: day * DAY });

describe('attribution models on hand-computed paths', () => {
  // organic search 14 days before the call, paid search 7 days before, then a direct visit and the call.
  const path = [touch('organic_search', 0), touch('paid_search', 7), touch('direct', 14)];
  const at = 14 * DAY;

  it('single-touch models', () => {
    close(creditPath('last_click', path, at), [0, 0, 1]);
    close(creditPath('first_click', path, at), [1, 0, 0]);
    close(creditPath('last_non_direct_click', path, at), [0, 1, 0]);
    close(creditPath('last_non_direct_click', [touch('direct', 1), touch('direct', 2)], at), [0, 1]);
  });

  it('linear, time decay (half-life 7 days: weights ¼, ½, 1) and position-based (40/20/40)', () => {
    close(creditPath('linear', path, at), [1 / 3, 1 / 3, 1 / 3]);
    close(creditPath('time_decay', path, at), [1 / 7, 2 / 7, 4 / 7]);
    close(creditPath('time_decay', path, at, { halfLifeMs: 14 * DAY, firstShare: 0.4, lastShare: 0.4 }), [
      0.5 / 2.207106781186548,
      0.7071067811865476 / 2.207106781186548,
      1 / 2.207106781186548,
    ]);
    close(creditPath('position_based', path, at), [0.4, 0.2, 0.4]);
    close(creditPath('position_based', [...path, touch('email', 14)], at), [0.4, 0.1, 0.1, 0.4]);
    close(creditPath('position_based', path.slice(0, 2), at), [0.5, 0.5]);
    close(creditPath('position_based', path.slice(0, 1), at), [1]);
    assert.deepEqual(creditPath('linear', [], at), []);
  });

  it('keeps only the touches within the lookback window and before the conversion', () => {
    const all = [touch('email', 100), touch('display', 40), touch('social', 75), touch('referral', 89)];
    assert.deepEqual(
      pathWithin(all, 90 * DAY, 30 * DAY).map((t) => t.channel),
      ['social', 'referral'],
    );
    assert.deepEqual(
      pathWithin(all, 90 * DAY, 180 * DAY).map((t) => t.channel),
      ['display', 'social', 'referral'],
    );
  });

  it('data-driven: Markov removal effects on a hand-solved chain', () => {
    // start→A ⅔, start→B ⅓; A→B ½, A→null ½; B→conversion ½, B→null ½.
    // P(conv) = ⅔·½·½ + ⅓·½ = ⅓. Without A: ⅓·½ = ⅙ → effect ½. Without B: 0 → effect 1.
    const model = markovRemovalEffects([
      { channels: ['A', 'B'], converted: true },
      { channels: ['A'], converted: false },
      { channels: ['B'], converted: false },
    ]);
    assert.ok(Math.abs(model.conversionProbability - 1 / 3) < 1e-9);
    assert.ok(Math.abs(model.removalEffects.get('A')! - 0.5) < 1e-9);
    assert.ok(Math.abs(model.removalEffects.get('B')! - 1) < 1e-9);
    assert.ok(Math.abs(model.shares.get('A')! - 1 / 3) < 1e-9);
    assert.ok(Math.abs(model.shares.get('B')! - 2 / 3) < 1e-9);
    // Per touch of a converting path: the channel weights, normalised over the path's distinct channels.
    const learnt = { data_driven: model.shares, shapley: new Map([['A', 0.25]]) };
    close(creditPath('data_driven', [touch('A', 1), touch('B', 2)], 3 * DAY, undefined, learnt), [1 / 3, 2 / 3]);
    close(creditPath('data_driven', [touch('unseen', 1), touch('other', 2)], 3 * DAY, undefined, learnt), [0.5, 0.5]);
    // A channel twice on the path: its share once, split between its touches.
    close(creditPath('data_driven', [touch('A', 1), touch('B', 2), touch('A', 3)], 3 * DAY, undefined, learnt), [1 / 6, 2 / 3, 1 / 6]);
    close(creditPath('shapley', [touch('A', 1), touch('B', 2)], 3 * DAY, undefined, learnt), [1, 0]);
    assert.throws(() => creditPath('data_driven', path, at), /channel weights/);
  });

  it('data-driven: repeated channels (self-loops) and aggregated path counts', () => {
    // start→A 1; A→A ½ (A,A,conv), A→conversion ½: every path converts, so A carries it all.
    const loop = markovRemovalEffects([
      { channels: ['A', 'A'], converted: true },
      { channels: ['A'], converted: true },
    ]);
    assert.ok(Math.abs(loop.conversionProbability - 1) < 1e-9);
    assert.equal(loop.shares.get('A'), 1);
    // Counts weigh the same as repeated paths.
    const repeated = markovRemovalEffects([
      { channels: ['A', 'B'], converted: true },
      { channels: ['A', 'B'], converted: true },
      { channels: ['B'], converted: false },
    ]);
    const counted = markovRemovalEffects([
      { channels: ['B'], converted: false },
      { channels: ['A', 'B'], converted: true, count: 2 },
    ]);
    assert.deepEqual([...counted.shares], [...repeated.shares]);
    assert.deepEqual(markovRemovalEffects([{ channels: ['A'], converted: false }]).shares.get('A'), 0, 'nothing converts: nobody gets credit');
  });
});
