// The simplified Shapley value model (Zhao, Mahboobi, Bagheri 2018, "Shapley Value Methods for
// Attribution Modeling in Online Advertising"; the method Google's Ads Data Hub applies). The
// players are channels, a coalition is the set of channels a visitor's path touched, and a
// coalition's worth is the conversion rate of the paths that touched exactly that set
// (converting paths over all paths, converting or not). With the worth of a set taken as the
// sum of the rates of its subsets, each channel's Shapley value reduces to
//   φ(c) = Σ over observed sets S containing c of rate(S) / |S|.
// The values, normalised, are each channel's share of the conversions; per-call credits are
// fitted to those shares like the Markov model's (credit-fit.ts).
import type { ChannelPath } from './markov-chain.js';

export interface ShapleyResult {
  /** φ(c) per channel. */
  values: Map<string, number>;
  /** Values normalised to sum to 1. */
  shares: Map<string, number>;
}

export function simplifiedShapley(paths: readonly ChannelPath[]): ShapleyResult {
  const sets = new Map<string, { channels: string[]; converting: number; all: number }>();
  for (const p of paths) {
    const n = p.count ?? 1;
    if (n <= 0 || p.channels.length === 0) continue;
    const channels = [...new Set(p.channels)].sort();
    const key = channels.join('\u0000');
    const set = sets.get(key) ?? { channels, converting: 0, all: 0 };
    set.all += n;
    if (p.converted) set.converting += n;
    sets.set(key, set);
  }
  const values = new Map<string, number>();
  // Sorted keys: the sums (and their last bits) never depend on input order.
  for (const key of [...sets.keys()].sort()) {
    const set = sets.get(key)!;
    const rate = set.converting / set.all;
    for (const c of set.channels) values.set(c, (values.get(c) ?? 0) + rate / set.channels.length);
  }
  const total = [...values.values()].reduce((a, b) => a + b, 0);
  const ordered = [...values].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return { values: new Map(ordered), shares: new Map(ordered.map(([c, v]) => [c, total > 0 ? v / total : 0])) };
}
