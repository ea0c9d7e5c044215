// The data-driven model: a first-order Markov chain over channel paths, learnt
// from every path (converting or not), and each channel's removal effect.

export interface ChannelPath {
  /** Channels of the path's touches, oldest first. */
  channels: readonly string[];
  converted: boolean;
  /** How many visitors had exactly this path (paths are usually aggregated). */
  count?: number;
  /** Summed value (recorded revenue) of the converting calls with this path: shared out by the channel figures, not learnt from. */
  value?: number;
}

export interface MarkovResult {
  /** Probability that a path from the start reaches a conversion. */
  conversionProbability: number;
  /** 1 − P(conversion without the channel) / P(conversion), per channel. */
  removalEffects: Map<string, number>;
  /** Removal effects normalised to sum to 1: each channel's share of the conversions. */
  shares: Map<string, number>;
}

const START = '\u0000start';
const CONVERSION = '\u0000conversion';
const NULL = '\u0000null';

/** Orders of the chain a site may choose (attribution settings' markovOrder). */
export const MARKOV_ORDERS = [1, 2, 3] as const;

/**
 * Learns transition probabilities from the paths (start → c1 → … → conversion
 * or null), then the probability of reaching the conversion from the start with
 * every channel present and with each channel removed (the states that hold it go
 * to null). Absorption probabilities are solved by Gauss–Seidel iteration, which
 * converges because every state of the learnt chain reaches an absorbing state.
 *
 * `order` k > 1: a state is the last k channels (fewer at the start of a path), so the
 * chain remembers where a visitor came from; removing a channel removes every state
 * that holds it. Higher orders fit long, structured paths better and need more data:
 * with few paths most states are seen once and the effects get noisy.
 */
export function markovRemovalEffects(paths: readonly ChannelPath[], order = 1): MarkovResult {
  if (!Number.isInteger(order) || order < 1 || order > 3) throw new Error(`Markov order must be 1, 2 or 3, got ${order}`);
  const counts = new Map<string, Map<string, number>>();
  const add = (from: string, to: string, n: number) => {
    const row = counts.get(from) ?? new Map<string, number>();
    row.set(to, (row.get(to) ?? 0) + n);
    counts.set(from, row);
  };
  const channels = new Set<string>();
  /** The channels each state holds (a first-order state is its channel). */
  const holds = new Map<string, readonly string[]>();
  const stateOf = (window: readonly string[]): string => {
    const key = window.join('\u0001');
    if (!holds.has(key)) holds.set(key, [...new Set(window)]);
    return key;
  };
  for (const path of paths) {
    const n = path.count ?? 1;
    if (n <= 0) continue;
    let from = START;
    path.channels.forEach((channel, i) => {
      channels.add(channel);
      const to = stateOf(path.channels.slice(Math.max(0, i + 1 - order), i + 1));
      add(from, to, n);
      from = to;
    });
    add(from, path.converted ? CONVERSION : NULL, n);
  }
  const transitions = new Map<string, Array<[string, number]>>();
  for (const [from, row] of counts) {
    const total = [...row.values()].reduce((a, b) => a + b, 0);
    // Sorted so that the iteration order (and so the last bits of the result) never depends on input order.
    transitions.set(
      from,
      [...row].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([to, c]) => [to, c / total]),
    );
  }
  const base = absorption(transitions, () => false);
  const removalEffects = new Map<string, number>();
  for (const channel of [...channels].sort()) {
    const without = absorption(transitions, (state) => holds.get(state)?.includes(channel) ?? false);
    removalEffects.set(channel, base > 0 ? Math.max(0, 1 - without / base) : 0);
  }
  const total = [...removalEffects.values()].reduce((a, b) => a + b, 0);
  const shares = new Map([...removalEffects].map(([c, e]) => [c, total > 0 ? e / total : 0]));
  return { conversionProbability: base, removalEffects, shares };
}

function absorption(transitions: ReadonlyMap<string, ReadonlyArray<[string, number]>>, removed: (state: string) => boolean): number {
  const p = new Map<string, number>();
  const gone = new Set([...transitions.keys(), ...[...transitions.values()].flatMap((row) => row.map(([to]) => to))].filter((s) => s !== START && removed(s)));
  const value = (state: string): number => {
    if (state === CONVERSION) return 1;
    if (state === NULL || gone.has(state)) return 0;
    return p.get(state) ?? 0;
  };
  const states = [...transitions.keys()].sort();
  for (let iteration = 0; iteration < 100_000; iteration += 1) {
    let change = 0;
    for (const state of states) {
      if (gone.has(state)) continue;
      let v = 0;
      for (const [to, prob] of transitions.get(state)!) v += prob * value(to);
      change = Math.max(change, Math.abs(v - (p.get(state) ?? 0)));
      p.set(state, v);
    }
    if (change < 1e-13) break;
  }
  return value(START);
}
