import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { CONFIG, LOGGER } from '@calltrack/service-kit';
import type { Logger } from '@calltrack/telemetry';
import { AttributionSettingsService } from '../settings/attribution-settings.service.js';
import { AttributionStore } from '../store/attribution-store.js';
import type { AttributionConfig } from '../config.js';
import type { LearntWeights } from './attribution-models.js';
import { creditedValues, fitCreditWeights } from './credit-fit.js';
import { markovRemovalEffects, type ChannelPath } from './markov-chain.js';
import { simplifiedShapley } from './shapley.js';
import type { MarkovWeightRow } from '../store/rows.js';
import { TIME, num, str } from '../store/values.js';

const DAY_MS = 86_400_000;
/** Paths of calls and visits that started this long before the computation train the model. */
export const MARKOV_TRAINING_DAYS = 180;
/** How long another instance's newer computation may take to reach this one's cache. */
const CACHE_TTL_MS = 60_000;
const CONVERTING_METHODS = "('dynamic', 'promo_code', 'repeat_caller')";

export interface MarkovModel {
  siteId: string;
  modelId: string;
  computedAtMs: number;
  trainedFromMs: number;
  trainedToMs: number;
  paths: number;
  convertingPaths: number;
  conversionProbability: number;
  /** The chain's order and the touches kept per path (the site's settings when it was learnt). */
  markovOrder: number;
  pathCap: number;
  /** Largest relative gap between a channel's summed credits and its attribution after the fit (credit-fit.ts). */
  fitError: number;
  shapleyFitError: number;
  channels: LearntChannel[];
}

/** One channel under both learnt models: its attribution and the weight its calls are credited by. */
export interface LearntChannel {
  channel: string;
  removalEffect: number;
  /** Normalised removal effect: the channel's share of the conversions under the Markov model. */
  share: number;
  /** Conversions the Markov model attributes to the channel (converting paths × share). */
  conversions: number;
  /** Revenue of the calls it learnt from, credited to the channel as those calls are (credit-fit.ts, creditedValues). */
  conversionValue: number;
  creditWeight: number;
  shapleyValue: number;
  shapleyShare: number;
  shapleyConversions: number;
  shapleyConversionValue: number;
  shapleyCreditWeight: number;
}

/**
 * The learnt models of each site, from every path of the site (each converting call's visits
 * within the lookback, and the visits of every visitor who never converted): a Markov chain
 * of the site's order over the channels, from which each channel's removal effect and share
 * follow (models/markov-chain.ts), and the simplified Shapley values (models/shapley.ts).
 * Each model's channel weights are fitted so that the credits of the calls it learnt from add
 * up to its channel attribution (models/credit-fit.ts). Computed on demand (admin API), at the
 * start of every recompute, and every ATTRIBUTION_MARKOV_REFRESH_MINUTES for sites whose model
 * is older than that; stored in `markov_channel_weights`. Live calls are credited with the
 * latest stored weights.
 */
@Injectable()
export class MarkovModelService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly cache = new Map<string, { weights: LearntWeights; loadedAtMs: number }>();
  private timer: NodeJS.Timeout | undefined;
  private refreshing = false;
  private readonly refreshMs: number;

  constructor(
    private readonly store: AttributionStore,
    private readonly settings: AttributionSettingsService,
    @Inject(CONFIG) config: AttributionConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.refreshMs = config.ATTRIBUTION_MARKOV_REFRESH_MINUTES * 60_000;
  }

  onApplicationBootstrap(): void {
    if (this.refreshMs <= 0) return;
    // Checked a few times per interval; only sites whose stored model is older than the interval are recomputed.
    this.timer = setInterval(() => void this.refreshStale(), Math.max(60_000, Math.floor(this.refreshMs / 4)));
    this.timer.unref();
  }

  onModuleDestroy(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** Channel weights in force for live evaluation (empty until a model was computed: learnt credits fall back to linear). */
  async shares(siteId: string, nowMs = Date.now()): Promise<LearntWeights> {
    const cached = this.cache.get(siteId);
    if (cached && nowMs - cached.loadedAtMs < CACHE_TTL_MS) return cached.weights;
    const model = await this.latest(siteId);
    const weights = learntWeightsOf(model);
    this.cache.set(siteId, { weights, loadedAtMs: nowMs });
    return weights;
  }

  /** The latest stored model of a site. */
  async latest(siteId: string): Promise<MarkovModel | undefined> {
    const rows = await this.store.query<Record<string, unknown>>(
      `SELECT model_id, toUnixTimestamp64Milli(computed_at) AS computed_ms, toUnixTimestamp64Milli(trained_from) AS from_ms,
         toUnixTimestamp64Milli(trained_to) AS to_ms,
              channel, removal_effect, share, credit_weight, conversions, conversion_value, fit_error, shapley_value, shapley_share,
              shapley_credit_weight, shapley_conversions, shapley_conversion_value, shapley_fit_error, markov_order, path_cap, conversion_probability,
              paths, converting_paths
       FROM markov_channel_weights FINAL
       WHERE site_id = {site:String} AND computed_at = (SELECT max(computed_at) FROM markov_channel_weights WHERE site_id = {site:String})
       ORDER BY channel`,
      { site: siteId },
    );
    const first = rows[0];
    if (!first) return undefined;
    return {
      siteId,
      modelId: str(first['model_id']),
      computedAtMs: num(first['computed_ms']),
      trainedFromMs: num(first['from_ms']),
      trainedToMs: num(first['to_ms']),
      paths: num(first['paths']),
      convertingPaths: num(first['converting_paths']),
      conversionProbability: num(first['conversion_probability']),
      markovOrder: num(first['markov_order']) || 1,
      pathCap: num(first['path_cap']),
      fitError: num(first['fit_error']),
      shapleyFitError: num(first['shapley_fit_error']),
      channels: rows.map((r) => ({
        channel: str(r['channel']),
        removalEffect: num(r['removal_effect']),
        share: num(r['share']),
        conversions: num(r['conversions']),
        conversionValue: num(r['conversion_value']),
        creditWeight: num(r['credit_weight']),
        shapleyValue: num(r['shapley_value']),
        shapleyShare: num(r['shapley_share']),
        shapleyConversions: num(r['shapley_conversions']),
        shapleyConversionValue: num(r['shapley_conversion_value']),
        shapleyCreditWeight: num(r['shapley_credit_weight']),
      })),
    };
  }

  /** The site's paths in the training window before `asOfMs`, aggregated by channel sequence. */
  async trainingPaths(siteId: string, asOfMs: number): Promise<ChannelPath[]> {
    const settings = this.settings.get(siteId);
    const lookbackMs = settings.lookbackDays * DAY_MS;
    const params = { site: siteId, from: asOfMs - MARKOV_TRAINING_DAYS * DAY_MS, to: asOfMs, lookback: lookbackMs, max: settings.markovPathCap };
    const bots = `SELECT session_id FROM session_verdicts FINAL WHERE site_id = {site:String} AND verdict = 'bot'`;
    const converting = await this.store.query<Record<string, unknown>>(
      `SELECT path, toUInt64(count()) AS n, sum(value) AS value FROM (
         SELECT c.call_id, any(c.value) AS value,
                arraySlice(arrayMap(t -> t.2, arraySort(groupArray((v.started_at, v.channel)))), -{max:UInt32}) AS path
         FROM (SELECT k.call_id AS call_id, k.visitor_id AS visitor_id, k.started_at AS started_at, ifNull(r.amount, 0) AS value
               FROM (SELECT call_id, visitor_id, started_at FROM calls FINAL
                     WHERE site_id = {site:String} AND started_at >= ${TIME('from')} AND started_at < ${TIME('to')}
                       AND visitor_id != '' AND direction != 'outbound' AND verdict != 'spam' AND match_method IN ${CONVERTING_METHODS}) AS k
               LEFT JOIN (SELECT call_id, amount FROM conversion_revenue FINAL WHERE site_id = {site:String} AND amount > 0) AS r
               ON r.call_id = k.call_id) AS c
         INNER JOIN (SELECT visitor_id, started_at, channel FROM visits FINAL
               WHERE site_id = {site:String} AND started_at >= fromUnixTimestamp64Milli({from:Int64} - {lookback:Int64}, 'UTC') AND started_at < ${TIME('to')}
                 AND session_id NOT IN (${bots})) AS v ON v.visitor_id = c.visitor_id
         WHERE v.started_at <= c.started_at AND toUnixTimestamp64Milli(v.started_at) >= toUnixTimestamp64Milli(c.started_at) - {lookback:Int64}
         GROUP BY c.call_id)
       GROUP BY path ORDER BY path`,
      params,
    );
    const never = await this.store.query<Record<string, unknown>>(
      `SELECT path, toUInt64(count()) AS n FROM (
         SELECT visitor_id, arraySlice(arrayMap(t -> t.2, arraySort(groupArray((started_at, channel)))), -{max:UInt32}) AS path
         FROM visits FINAL
         WHERE site_id = {site:String} AND started_at >= ${TIME('from')} AND started_at < ${TIME('to')} AND visitor_id != ''
           AND session_id NOT IN (${bots})
           AND visitor_id NOT IN (SELECT visitor_id FROM calls FINAL WHERE site_id = {site:String} AND visitor_id != '' AND started_at >= ${TIME('from')}
                                  AND direction != 'outbound' AND verdict != 'spam' AND match_method IN ${CONVERTING_METHODS})
         GROUP BY visitor_id)
       GROUP BY path ORDER BY path`,
      params,
    );
    // A converting path carries its calls' revenue (0 when none was recorded), for the channel figures.
    const paths = (rows: Array<Record<string, unknown>>, converted: boolean): ChannelPath[] =>
      rows.map((r) => ({ channels: (r['path'] as string[]) ?? [], converted, count: num(r['n']), ...(converted ? { value: num(r['value']) } : {}) }));
    return [...paths(converting, true), ...paths(never, false)];
  }

  /** Learns the site's models from its paths before `asOfMs`, stores them and puts them in force. */
  async compute(siteId: string, asOfMs = Date.now()): Promise<MarkovModel> {
    const { markovOrder, markovPathCap } = this.settings.get(siteId);
    const paths = await this.trainingPaths(siteId, asOfMs);
    const markov = markovRemovalEffects(paths, markovOrder);
    const shapley = simplifiedShapley(paths);
    const markovFit = fitCreditWeights(paths, markov.shares);
    const shapleyFit = fitCreditWeights(paths, shapley.shares);
    // The revenue of the calls learnt from, credited as live calls are: by the fitted weights.
    const markovValues = creditedValues(paths, markovFit.weights);
    const shapleyValues = creditedValues(paths, shapleyFit.weights);
    const total = paths.reduce((a, p) => a + (p.count ?? 1), 0);
    const converting = paths.filter((p) => p.converted).reduce((a, p) => a + (p.count ?? 1), 0);
    // Same paths and options, same id: a model is named by what it learnt from (the calls' revenue is not).
    const learnt = paths.map(({ channels, converted, count }) => ({ channels, converted, count }));
    const digest = createHash('sha256')
      .update(JSON.stringify({ paths: learnt, markovOrder }))
      .digest('hex')
      .slice(0, 12);
    const names = [...new Set([...markov.shares.keys(), ...shapley.shares.keys()])].sort();
    const model: MarkovModel = {
      siteId,
      modelId: `${asOfMs}-${digest}`,
      computedAtMs: asOfMs,
      trainedFromMs: asOfMs - MARKOV_TRAINING_DAYS * DAY_MS,
      trainedToMs: asOfMs,
      paths: total,
      convertingPaths: converting,
      conversionProbability: markov.conversionProbability,
      markovOrder,
      pathCap: markovPathCap,
      fitError: markovFit.maxRelativeError,
      shapleyFitError: shapleyFit.maxRelativeError,
      channels: names.map((channel) => ({
        channel,
        removalEffect: markov.removalEffects.get(channel) ?? 0,
        share: markov.shares.get(channel) ?? 0,
        conversions: converting * (markov.shares.get(channel) ?? 0),
        conversionValue: markovValues.get(channel) ?? 0,
        creditWeight: markovFit.weights.get(channel) ?? 0,
        shapleyValue: shapley.values.get(channel) ?? 0,
        shapleyShare: shapley.shares.get(channel) ?? 0,
        shapleyConversions: converting * (shapley.shares.get(channel) ?? 0),
        shapleyConversionValue: shapleyValues.get(channel) ?? 0,
        shapleyCreditWeight: shapleyFit.weights.get(channel) ?? 0,
      })),
    };
    const iso = (ms: number): string => new Date(ms).toISOString();
    const rows = model.channels.map((c): MarkovWeightRow => ({
      site_id: siteId,
      model_id: model.modelId,
      computed_at: iso(asOfMs),
      trained_from: iso(model.trainedFromMs),
      trained_to: iso(asOfMs),
      channel: c.channel,
      removal_effect: c.removalEffect,
      share: c.share,
      credit_weight: c.creditWeight,
      conversions: c.conversions,
      conversion_value: c.conversionValue,
      fit_error: model.fitError,
      shapley_value: c.shapleyValue,
      shapley_share: c.shapleyShare,
      shapley_credit_weight: c.shapleyCreditWeight,
      shapley_conversions: c.shapleyConversions,
      shapley_conversion_value: c.shapleyConversionValue,
      shapley_fit_error: model.shapleyFitError,
      markov_order: markovOrder,
      path_cap: markovPathCap,
      conversion_probability: model.conversionProbability,
      paths: total,
      converting_paths: converting,
    }));
    await this.store.write('markov_channel_weights', rows, `markov:${siteId}:${model.modelId}`);
    this.cache.set(siteId, { weights: learntWeightsOf(model), loadedAtMs: Date.now() });
    this.logger.info({
      event: 'markov_model_computed',
      site_id: siteId,
      model_id: model.modelId,
      paths: total,
      converting_paths: converting,
      channels: model.channels.length,
      markov_order: markovOrder,
      fit_error: model.fitError,
      shapley_fit_error: model.shapleyFitError,
    });
    return model;
  }

  /** Recomputes the models of active sites whose latest model is older than the refresh interval. */
  async refreshStale(nowMs = Date.now()): Promise<void> {
    if (this.refreshing || !this.store.isMigrated()) return;
    this.refreshing = true;
    try {
      const rows = await this.store.query<Record<string, unknown>>(
        `SELECT c.site_id AS site_id, m.last_ms AS last_ms
         FROM (SELECT DISTINCT site_id FROM calls WHERE started_at >= ${TIME('from')}) AS c
         LEFT JOIN (SELECT site_id, toUnixTimestamp64Milli(max(computed_at)) AS last_ms FROM markov_channel_weights GROUP BY site_id) AS m USING (site_id)
         ORDER BY site_id`,
        { from: nowMs - MARKOV_TRAINING_DAYS * DAY_MS },
      );
      for (const r of rows) {
        if (nowMs - num(r['last_ms']) < this.refreshMs) continue;
        await this.compute(str(r['site_id']), nowMs);
      }
    } catch (err) {
      this.logger.warn({ event: 'markov_refresh_failed', err: (err as Error).message });
    } finally {
      this.refreshing = false;
    }
  }
}

/**
 * The weights live calls are credited by. A model stored before the fitted weights existed
 * (credit_weight 0 on every channel) is credited by its shares, as it was learnt.
 */
export function learntWeightsOf(model: MarkovModel | undefined): LearntWeights {
  const channels = model?.channels ?? [];
  const fitted = channels.some((c) => c.creditWeight > 0);
  return {
    data_driven: new Map(channels.map((c) => [c.channel, fitted ? c.creditWeight : c.share])),
    shapley: new Map(channels.filter(() => fitted).map((c) => [c.channel, c.shapleyCreditWeight])),
  };
}

/** The API's view of a learnt model (admin API, models report). */
export function learntModelView(m: MarkovModel): object {
  const iso = (ms: number): string => new Date(ms).toISOString();
  return {
    siteId: m.siteId,
    modelId: m.modelId,
    computedAt: iso(m.computedAtMs),
    trainedFrom: iso(m.trainedFromMs),
    trainedTo: iso(m.trainedToMs),
    paths: m.paths,
    convertingPaths: m.convertingPaths,
    conversionProbability: m.conversionProbability,
    markovOrder: m.markovOrder,
    pathCap: m.pathCap,
    fitError: m.fitError,
    shapleyFitError: m.shapleyFitError,
    channels: m.channels,
  };
}
