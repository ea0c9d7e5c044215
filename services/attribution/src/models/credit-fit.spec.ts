import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { creditedTotals, creditedValues, fitCreditWeights, splitOverChannels } from './credit-fit.js';
import { markovRemovalEffects, type ChannelPath } from './markov-chain.js';
import { simplifiedShapley } from './shapley.js';

const near = (a: number, b: number, eps = 1e-6) => assert.ok(Math.abs(a - b) <= eps, `${a} ≠ ${b}`);
const path = (channels: string[], converted: boolean, count = 1): ChannelPath => ({ channels, converted, count });

/**
 * The smallest channel sums any split can reach: calls whose path lies inside a channel set must
 * credit that set. Feasible exactly when, for every set C, C's attribution is at least the calls
 * whose channels all lie in C (Gale's condition for the path × channel transport); the slack is
 * the smallest margin over those sets, relative to the conversions.
 */
function hallSlack(paths: readonly ChannelPath[], target: ReadonlyMap<string, number>): number {
  const channels = [...target.keys()];
  const converting = paths.filter((p) => p.converted && p.channels.length > 0);
  const total = converting.reduce((a, p) => a + (p.count ?? 1), 0);
  let slack = Infinity;
  for (let mask = 1; mask < 1 << channels.length; mask += 1) {
    const set = new Set(channels.filter((_, i) => mask & (1 << i)));
    if (set.size === channels.length) continue;
    const inside = converting.filter((p) => p.channels.every((c) => set.has(c))).reduce((a, p) => a + (p.count ?? 1), 0);
    const attributed = [...set].reduce((a, c) => a + target.get(c)!, 0);
    slack = Math.min(slack, (attributed - inside) / total);
  }
  return slack;
}

describe('credits that add up to the model (iterative proportional fitting)', () => {
  it('given paths {A} ×2 and {A,B} ×2 and shares A 60 %, B 40 %: weights A 0.2, B 0.8 (solved by hand)', () => {
    // A must total 2.4 of 4 conversions: the two {A} calls give it 2, so each {A,B} call gives A 0.2 and B 0.8.
    const paths = [path(['a'], true, 2), path(['a', 'b'], true, 2), path(['b'], false, 5)];
    const fit = fitCreditWeights(
      paths,
      new Map([
        ['a', 0.6],
        ['b', 0.4],
      ]),
    );
    near(fit.weights.get('a')!, 0.2);
    near(fit.weights.get('b')!, 0.8);
    assert.ok(fit.maxRelativeError <= 1e-6);
    const totals = creditedTotals(paths, fit.weights);
    near(totals.get('a')!, 2.4, 1e-5);
    near(totals.get('b')!, 1.6, 1e-5);
    // A call's credit: weight over its path's weights, once per distinct channel.
    const split = splitOverChannels(['b', 'a', 'b'], fit.weights);
    near(split.get('a')!, 0.2);
    near(split.get('b')!, 0.8);
  });

  it('when a channel is the only touch of more calls than its attribution, says how far the fit is left', () => {
    // Shares 50/50 but three of four calls touched only A: A gets at least 3, its attribution is 2.
    const paths = [path(['a'], true, 3), path(['a', 'b'], true, 1)];
    const fit = fitCreditWeights(
      paths,
      new Map([
        ['a', 0.5],
        ['b', 0.5],
      ]),
    );
    const totals = creditedTotals(paths, fit.weights);
    assert.ok(totals.get('a')! >= 3 - 1e-9);
    assert.ok(fit.maxRelativeError >= 0.49, `error ${fit.maxRelativeError}`);
    // Every call still gives exactly 1.
    near((totals.get('a') ?? 0) + (totals.get('b') ?? 0), 4);
  });

  it('given the same paths with revenue {A}: 150, {A,B}: 200, a visitor 0: value A 190, B 160 (solved by hand)', () => {
    // Each {A,B} call gives A 0.2 and B 0.8 of itself, so of its revenue too: A 150 + 0.2 × 200, B 0.8 × 200.
    const paths = [{ ...path(['a'], true, 2), value: 150 }, { ...path(['a', 'b'], true, 2), value: 200 }, path(['b'], false, 5)];
    const weights = new Map([
      ['a', 0.2],
      ['b', 0.8],
    ]);
    const values = creditedValues(paths, weights);
    near(values.get('a')!, 190);
    near(values.get('b')!, 160);
    // Every unit of revenue goes to some channel of its path: the total is the revenue learnt from.
    near(values.get('a')! + values.get('b')!, 350);
    // A path without revenue, or one that did not convert, adds nothing.
    assert.deepEqual([...creditedValues([path(['a'], true, 3), { ...path(['b'], false, 1), value: 99 }], weights)], []);
  });

  it('splits evenly when no channel of the path has a weight', () => {
    const split = splitOverChannels(['x', 'y'], new Map([['a', 1]]));
    assert.deepEqual([...split.values()], [0.5, 0.5]);
  });
});

describe('the simplified Shapley model (solved by hand)', () => {
  it('given {A}: 1 of 4 convert, {B}: 1 of 2, {A,B}: 2 of 2 → φ(A) = ¼ + ½, φ(B) = ½ + ½', () => {
    const paths = [path(['a'], true), path(['a'], false, 3), path(['b'], true), path(['b'], false), path(['b', 'a', 'b'], true, 2)];
    const r = simplifiedShapley(paths);
    near(r.values.get('a')!, 0.75);
    near(r.values.get('b')!, 1);
    near(r.shares.get('a')!, 0.75 / 1.75);
    near(r.shares.get('b')!, 1 / 1.75);
  });
});

/** Paths walked through a random first-order chain over 2-5 channels (seeded by fast-check). */
const generatedPaths = fc
  .record({
    channels: fc.integer({ min: 2, max: 5 }),
    seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
    visitors: fc.integer({ min: 200, max: 1500 }),
  })
  .map(({ channels, seed, visitors }) => {
    let state = seed;
    const random = () => (state = (Math.imul(state, 48271) >>> 0) % 2147483647) / 2147483647;
    const names = Array.from({ length: channels }, (_, i) => `ch${i}`);
    // Per channel: the odds of converting, of leaving, and of moving on to each channel.
    const rows = names.map(() => {
      const weights = [0.05 + random() * 0.4, 0.2 + random(), ...names.map(() => random())];
      const sum = weights.reduce((a, b) => a + b, 0);
      return weights.map((w) => w / sum);
    });
    const paths: ChannelPath[] = [];
    for (let v = 0; v < visitors; v += 1) {
      const walk: string[] = [];
      let at = Math.floor(random() * channels);
      for (;;) {
        walk.push(names[at]!);
        const r = random();
        const row = rows[at]!;
        if (r < row[0]!) {
          paths.push(path(walk, true));
          break;
        }
        if (r < row[0]! + row[1]! || walk.length >= 12) {
          paths.push(path(walk, false));
          break;
        }
        let acc = row[0]! + row[1]!;
        at = row.slice(2).findIndex((p) => (acc += p) > r);
        if (at < 0) at = channels - 1;
      }
    }
    return paths;
  });

for (const [name, sharesOf] of [
  ['Markov', (paths: ChannelPath[]) => markovRemovalEffects(paths).shares],
  ['Shapley', (paths: ChannelPath[]) => simplifiedShapley(paths).shares],
] as const) {
  describe(`${name} credits on generated paths`, () => {
    it('every call gives 1 to channels of its own path; channel sums meet the model within 0.5 % wherever the paths allow it', () => {
      let feasible = 0;
      let worst = 0;
      fc.assert(
        fc.property(generatedPaths, (paths) => {
          const shares = sharesOf(paths);
          const fit = fitCreditWeights(paths, shares);
          const conversions = paths.filter((p) => p.converted).length;
          if (conversions === 0) return;
          for (const p of paths.filter((q) => q.converted)) {
            const split = splitOverChannels(p.channels, fit.weights);
            near(
              [...split.values()].reduce((a, b) => a + b, 0),
              1,
              1e-9,
            );
            for (const c of split.keys()) assert.ok(p.channels.includes(c));
          }
          const onPaths = new Set(paths.filter((p) => p.converted).flatMap((p) => p.channels));
          const sum = [...onPaths].reduce((a, c) => a + (shares.get(c) ?? 0), 0);
          const target = new Map([...onPaths].map((c) => [c, (conversions * (shares.get(c) ?? 0)) / sum]));
          // Strictly inside the feasible region (1 % of the conversions to spare) the fit must converge.
          if (hallSlack(paths, target) < 0.01) return;
          feasible += 1;
          const totals = creditedTotals(paths, fit.weights);
          for (const [c, want] of target) {
            const deviation = Math.abs((totals.get(c) ?? 0) - want) / want;
            worst = Math.max(worst, deviation);
            assert.ok(deviation <= 0.005, `${c}: credited ${totals.get(c)}, model ${want}`);
          }
        }),
        { numRuns: 60, seed: 20261202 },
      );
      assert.ok(feasible >= 10, `only ${feasible} of 60 generated sets were feasible`);
      console.log(`# ${name}: ${feasible} of 60 generated path sets feasible; largest channel-sum deviation ${(worst * 100).toFixed(4)} %`);
    });
  });
}
