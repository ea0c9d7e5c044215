import type { LearntWeights } from '../../models/attribution-models.js';
import type { TouchCredit } from '../../models/call-credits.js';
import type { MarkovModelService } from '../../models/markov-model.service.js';
import type { CallLookups } from '../../store/call-lookups.js';
import { creditsForCall, type EvaluatedCall } from '../call-evaluation.js';
import type { CallBatch } from './load-call-facts.js';

const DAY_MS = 86_400_000;
const pairKey = (siteId: string, id: string): string => `${siteId}\n${id}`;

/**
 * Each call's credits under every model: over its visitor's visits within the site's
 * lookback (without bots), the data-driven model with the site's Markov shares (or the
 * ones a recompute just learnt).
 */
export async function creditCalls(
  io: { lookups: CallLookups; markov: MarkovModelService },
  batch: CallBatch,
  evaluated: readonly EvaluatedCall[],
  markovOverride?: ReadonlyMap<string, LearntWeights>,
): Promise<Map<EvaluatedCall, TouchCredit[]>> {
  const touches = await io.lookups.visitorTouches(
    evaluated.filter((e) => e.visitorId).map((e) => ({ siteId: e.report.siteId, visitorId: e.visitorId })),
    batch.minStartMs - batch.widestMs((s) => s.lookbackDays, DAY_MS),
    batch.maxStartMs,
  );
  const shares = new Map<string, LearntWeights>();
  for (const id of batch.siteIds) shares.set(id, markovOverride?.get(id) ?? (await io.markov.shares(id)));
  return new Map(evaluated.map((e) => [e, creditsForCall(e, touches.get(pairKey(e.report.siteId, e.visitorId)) ?? [], shares.get(e.report.siteId)!)]));
}
