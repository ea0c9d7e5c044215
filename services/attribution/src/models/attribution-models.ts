// Attribution models: how one conversion's credit is shared among the touches
// (visits) of the visitor's path. Pure functions; docs/attribution-models.md
// states each rule with a worked example, and attribution-models.spec.ts checks
// those examples by hand-computed figures.
import { splitOverChannels } from './credit-fit.js';

/** One visit on the path to a conversion. */
export interface Touch {
  sessionId: string;
  /** docs/channels.md */
  channel: string;
  startedAtMs: number;
}

export const ATTRIBUTION_MODELS = [
  'last_non_direct_click',
  'last_click',
  'first_click',
  'linear',
  'time_decay',
  'position_based',
  'data_driven',
  'shapley',
] as const;
export type AttributionModel = (typeof ATTRIBUTION_MODELS)[number];
export const DEFAULT_MODEL: AttributionModel = 'last_non_direct_click';

export interface ModelSettings {
  /** Time decay: a touch this much older than the conversion gets half the weight. Default 7 days. */
  halfLifeMs: number;
  /** Position-based: shares of the first and the last touch (the rest goes to the middle). Default 0.4 each. */
  firstShare: number;
  lastShare: number;
}

export const DEFAULT_MODEL_SETTINGS: ModelSettings = { halfLifeMs: 7 * 24 * 3600_000, firstShare: 0.4, lastShare: 0.4 };

/** Credit of each touch, in path order; the credits of a non-empty path sum to 1. */
export type Credits = number[];

/**
 * Touches of a visitor within the lookback window before the conversion, oldest
 * first. Touches after the conversion never count; ties keep their input order.
 */
export function pathWithin(touches: readonly Touch[], conversionAtMs: number, lookbackMs: number): Touch[] {
  return touches
    .map((t, i) => ({ t, i }))
    .filter(({ t }) => t.startedAtMs <= conversionAtMs && t.startedAtMs >= conversionAtMs - lookbackMs)
    .sort((a, b) => a.t.startedAtMs - b.t.startedAtMs || a.i - b.i)
    .map(({ t }) => t);
}

const one = (n: number, at: number): Credits => Array.from({ length: n }, (_, i) => (i === at ? 1 : 0));

/**
 * The channel weights of the two learnt models (markov-model.service.ts): data_driven (Markov
 * removal effects) and shapley (simplified Shapley values), each fitted so that the credits of
 * the calls the model learnt from add up, per channel, to the model's channel attribution
 * (credit-fit.ts). Empty maps: no model learnt yet.
 */
export interface LearntWeights {
  data_driven: ReadonlyMap<string, number>;
  shapley: ReadonlyMap<string, number>;
}
export const NO_LEARNT_WEIGHTS: LearntWeights = { data_driven: new Map(), shapley: new Map() };

/** Credits under a model. The learnt models (data_driven, shapley) need the site's `learnt` weights. */
export function creditPath(
  model: AttributionModel,
  path: readonly Touch[],
  conversionAtMs: number,
  settings: ModelSettings = DEFAULT_MODEL_SETTINGS,
  learnt?: LearntWeights,
): Credits {
  const n = path.length;
  if (n === 0) return [];
  switch (model) {
    case 'last_click':
      return one(n, n - 1);
    case 'first_click':
      return one(n, 0);
    case 'last_non_direct_click': {
      // A direct visit only gets the credit when the whole path is direct.
      for (let i = n - 1; i >= 0; i -= 1) if (path[i]!.channel !== 'direct') return one(n, i);
      return one(n, n - 1);
    }
    case 'linear':
      return path.map(() => 1 / n);
    case 'time_decay': {
      const weights = path.map((t) => Math.pow(2, -Math.max(0, conversionAtMs - t.startedAtMs) / settings.halfLifeMs));
      return normalise(weights);
    }
    case 'position_based': {
      if (n === 1) return [1];
      if (n === 2) return [0.5, 0.5];
      const middle = (1 - settings.firstShare - settings.lastShare) / (n - 2);
      return path.map((_, i) => (i === 0 ? settings.firstShare : i === n - 1 ? settings.lastShare : middle));
    }
    case 'data_driven':
    case 'shapley': {
      if (!learnt) throw new Error(`${model} credits need the channel weights the model learnt`);
      return learntCredits(path, learnt[model]);
    }
  }
}

/**
 * A learnt model's credits: each distinct channel of the path gets its weight over the path's
 * weights (the split the weights were fitted for), shared evenly by that channel's touches.
 * Before any model is learnt, or on a path of channels it never saw convert, linear.
 */
function learntCredits(path: readonly Touch[], weights: ReadonlyMap<string, number>): Credits {
  if (!path.some((t) => (weights.get(t.channel) ?? 0) > 0)) return path.map(() => 1 / path.length);
  const byChannel = splitOverChannels(
    path.map((t) => t.channel),
    weights,
  );
  const touches = new Map<string, number>();
  for (const t of path) touches.set(t.channel, (touches.get(t.channel) ?? 0) + 1);
  return path.map((t) => byChannel.get(t.channel)! / touches.get(t.channel)!);
}

function normalise(weights: number[]): Credits {
  const sum = weights.reduce((a, b) => a + b, 0);
  return weights.map((w) => w / sum);
}
