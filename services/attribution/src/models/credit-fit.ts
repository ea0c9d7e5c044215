// Per-call credits that add up to a model's channel attribution (docs/attribution-models.md,
// "Credits that add up"). A model such as the Markov chain says how many of a site's
// conversions each channel earns; a call only says which channels its path touched. Each
// call's credit is shared over the channels of its path in proportion to one weight per
// channel, and the weights are fitted so that, over the converting paths the model learnt
// from, each channel's credits sum to its attribution: iterative proportional fitting
// (Sinkhorn's scaling) over the path × channel incidence. Every call's credits still sum to
// 1 and a channel off the path gets none.
//
// Not every attribution can be met: the calls whose path touches only channels of a set C
// must give all their credit to C, so when C's attribution is smaller than those calls (a
// channel that is often the only touch, but whose removal effect is shared with others), no
// per-call split reaches it. The fit then converges towards the nearest split the paths allow
// and reports the largest deviation it was left with (`maxRelativeError`).
import type { ChannelPath } from './markov-chain.js';

export interface CreditFit {
  /** Weight of each channel that appears on a converting path (sums to 1). */
  weights: Map<string, number>;
  /** Largest |credited − attribution| / attribution over the channels, after the fit. */
  maxRelativeError: number;
  iterations: number;
}

export interface CreditFitOptions {
  /** Stop once every channel is within this relative error (default 1e-6). */
  tolerance?: number;
  maxIterations?: number;
}

/** A converting path reduced to its distinct channels, with how many calls had it. */
interface PathSet {
  channels: string[];
  count: number;
}

/** Iterations between progress checks, and the least relative improvement a check must show. */
const STALL_WINDOW = 500;
const STALL_GAIN = 1e-4;

function convertingSets(paths: readonly ChannelPath[]): PathSet[] {
  const byKey = new Map<string, PathSet>();
  for (const p of paths) {
    const n = p.count ?? 1;
    if (!p.converted || n <= 0 || p.channels.length === 0) continue;
    const channels = [...new Set(p.channels)].sort();
    const key = channels.join('\u0000');
    const set = byKey.get(key);
    if (set) set.count += n;
    else byKey.set(key, { channels, count: n });
  }
  return [...byKey.values()];
}

/** Each channel's summed credit over the converting paths when calls are credited by `weights`. */
export function creditedTotals(paths: readonly ChannelPath[], weights: ReadonlyMap<string, number>): Map<string, number> {
  return totalsOver(convertingSets(paths), weights);
}

function totalsOver(sets: readonly PathSet[], weights: ReadonlyMap<string, number>): Map<string, number> {
  const totals = new Map<string, number>();
  for (const set of sets) {
    const credits = splitOverChannels(set.channels, weights);
    for (const [channel, credit] of credits) totals.set(channel, (totals.get(channel) ?? 0) + credit * set.count);
  }
  return totals;
}

/**
 * The value each channel is credited with: every converting path's value (the revenue of its
 * calls) shared over the path's channels as each of its calls' credit is, by `weights`.
 */
export function creditedValues(paths: readonly ChannelPath[], weights: ReadonlyMap<string, number>): Map<string, number> {
  const values = new Map<string, number>();
  for (const p of paths) {
    if (!p.converted || !p.value || p.channels.length === 0) continue;
    for (const [channel, credit] of splitOverChannels(p.channels, weights)) values.set(channel, (values.get(channel) ?? 0) + credit * p.value);
  }
  return values;
}

/**
 * One call's credit per distinct channel of its path: weight over the path's weight sum;
 * evenly when no channel of the path has a weight (channels the model never saw convert).
 */
export function splitOverChannels(channels: readonly string[], weights: ReadonlyMap<string, number>): Map<string, number> {
  const distinct = [...new Set(channels)];
  const sum = distinct.reduce((a, c) => a + (weights.get(c) ?? 0), 0);
  return new Map(distinct.map((c) => [c, sum > 0 ? (weights.get(c) ?? 0) / sum : 1 / distinct.length]));
}

/**
 * Fits the channel weights so that the converting paths' credits sum, per channel, to
 * `shares` × the number of converting paths. Shares of channels on no converting path are
 * ignored (no call can give them credit); the others are renormalised.
 */
export function fitCreditWeights(paths: readonly ChannelPath[], shares: ReadonlyMap<string, number>, options: CreditFitOptions = {}): CreditFit {
  const tolerance = options.tolerance ?? 1e-6;
  const maxIterations = options.maxIterations ?? 20_000;
  const sets = convertingSets(paths);
  const channels = [...new Set(sets.flatMap((s) => s.channels))].sort();
  const conversions = sets.reduce((a, s) => a + s.count, 0);
  if (channels.length === 0) return { weights: new Map(), maxRelativeError: 0, iterations: 0 };
  const shareSum = channels.reduce((a, c) => a + Math.max(0, shares.get(c) ?? 0), 0);
  // A channel on a converting path always has a positive removal effect; an empty model falls back to even targets.
  const target = new Map(channels.map((c) => [c, shareSum > 0 ? (conversions * Math.max(0, shares.get(c) ?? 0)) / shareSum : conversions / channels.length]));
  let weights = new Map(channels.map((c) => [c, 1 / channels.length]));
  let error = Infinity;
  let iterations = 0;
  // Where the attribution cannot be met the fit creeps towards the nearest split: stop once it has stalled.
  let checkpoint = Infinity;
  for (; iterations < maxIterations; iterations += 1) {
    // The sets are built once: an iteration is one pass over the distinct converting paths.
    const totals = totalsOver(sets, weights);
    error = maxRelative(totals, target);
    if (error <= tolerance) break;
    if (iterations % STALL_WINDOW === 0) {
      if (checkpoint - error < STALL_GAIN * checkpoint) break;
      checkpoint = error;
    }
    const next = new Map<string, number>();
    for (const c of channels) {
      const got = totals.get(c) ?? 0;
      const want = target.get(c)!;
      // A channel with no target keeps no weight; one credited nothing yet (impossible with positive weights) keeps its own.
      next.set(c, want <= 0 ? 0 : got > 0 ? weights.get(c)! * (want / got) : weights.get(c)!);
    }
    weights = normalised(next);
  }
  return { weights, maxRelativeError: error, iterations };
}

function maxRelative(totals: ReadonlyMap<string, number>, target: ReadonlyMap<string, number>): number {
  let worst = 0;
  for (const [c, want] of target) {
    const got = totals.get(c) ?? 0;
    worst = Math.max(worst, want > 0 ? Math.abs(got - want) / want : got > 0 ? Infinity : 0);
  }
  return worst;
}

function normalised(weights: Map<string, number>): Map<string, number> {
  const sum = [...weights.values()].reduce((a, b) => a + b, 0);
  return new Map([...weights].map(([c, w]) => [c, sum > 0 ? w / sum : 0]));
}
