// Credits of a call under every attribution model, per touch (visit) of the visitor's
// path: the rows of `attribution_credits`. The models themselves are the pure
// functions of models/; this file builds their input path.
import { ATTRIBUTION_MODELS, creditPath, pathWithin, type AttributionModel, type LearntWeights, type ModelSettings } from './attribution-models.js';

/** A visit that can be a touch of a path. */
export interface TouchVisit {
  sessionId: string;
  visitorId: string;
  startedAtMs: number;
  channel: string;
  utm: { source: string; medium: string; campaign: string; content: string; term: string };
}

export interface TouchCredit {
  model: AttributionModel;
  /** Position of the touch on the path, 0 = oldest. */
  touchIndex: number;
  touchCount: number;
  touch: TouchVisit;
  credit: number;
}

/**
 * The path a call is credited over: the visitor's visits (bots left out by the caller)
 * that started within `lookbackMs` before the call, oldest first. The visit the call
 * was matched to always belongs to it, even when it started before the window (a promo
 * code or repeat caller can reach further back than the lookback).
 */
export function creditPathOf(visits: readonly TouchVisit[], matched: TouchVisit | undefined, callStartMs: number, lookbackMs: number): TouchVisit[] {
  const bySession = new Map(visits.map((v) => [v.sessionId, v]));
  const path = pathWithin(visits, callStartMs, lookbackMs).map((t) => bySession.get(t.sessionId)!);
  if (matched && !path.some((t) => t.sessionId === matched.sessionId)) {
    path.push(matched);
    path.sort((a, b) => a.startedAtMs - b.startedAtMs || (a.sessionId < b.sessionId ? -1 : a.sessionId > b.sessionId ? 1 : 0));
  }
  return path;
}

/**
 * Every model's credit for every touch of the path. data_driven and shapley share the credit
 * by the site's learnt channel weights (empty maps, i.e. no model learnt yet, fall back to
 * linear). An empty path (an unmatched call) has no credits.
 */
export function creditsOf(path: readonly TouchVisit[], callStartMs: number, settings: ModelSettings, learnt: LearntWeights): TouchCredit[] {
  const out: TouchCredit[] = [];
  if (path.length === 0) return out;
  for (const model of ATTRIBUTION_MODELS) {
    const credits = creditPath(model, path, callStartMs, settings, learnt);
    credits.forEach((credit, i) => out.push({ model, touchIndex: i, touchCount: path.length, touch: path[i]!, credit }));
  }
  return out;
}
