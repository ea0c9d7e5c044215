import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { CONFIG, LOGGER } from '@calltrack/service-kit';
import type { Logger } from '@calltrack/telemetry';
import { AttributionSettingsService } from '../settings/attribution-settings.service.js';
import { AttributionStore, num, str, TIME } from '../store/attribution-store.js';
import type { AttributionConfig } from '../config.js';
import { markovRemovalEffects, type ChannelPath } from './markov-chain.js';

const DAY_MS = 86_400_000;
/** Paths of calls and visits that started this long before the computation train the model. */
export const MARKOV_TRAINING_DAYS = 180;
/** Longer paths keep their latest touches: the chain is first-order, older steps add little. */
const MAX_PATH_TOUCHES = 50;
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
  channels: Array<{ channel: string; removalEffect: number; share: number }>;
}

/**
 * The data-driven model of each site: a first-order Markov chain over the channels of
 * every path of the site (each converting call's visits within the lookback, and the
 * visits of every visitor who never converted), from which each channel's removal
 * effect and share follow (models/markov-chain.ts). Computed on demand (admin API),
 * at the start of every recompute, and every ATTRIBUTION_MARKOV_REFRESH_MINUTES for
 * sites whose model is older than that; stored in `markov_channel_weights`. Live calls
 * are credited with the latest stored shares.
 */
@Injectable()
export class MarkovModelService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly cache = new Map<string, { shares: Map<string, number>; loadedAtMs: number }>();
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

  /** Channel shares in force for live evaluation (empty until a model was computed: data_driven credits fall back to linear). */
  async shares(siteId: string, nowMs = Date.now()): Promise<Map<string, number>> {
    const cached = this.cache.get(siteId);
    if (cached && nowMs - cached.loadedAtMs < CACHE_TTL_MS) return cached.shares;
    const model = await this.latest(siteId);
    const shares = new Map((model?.channels ?? []).map((c) => [c.channel, c.share]));
    this.cache.set(siteId, { shares, loadedAtMs: nowMs });
    return shares;
  }

  /** The latest stored model of a site. */
  async latest(siteId: string): Promise<MarkovModel | undefined> {
    const rows = await this.store.query<Record<string, unknown>>(
      `SELECT model_id, toUnixTimestamp64Milli(computed_at) AS computed_ms, toUnixTimestamp64Milli(trained_from) AS from_ms, toUnixTimestamp64Milli(trained_to) AS to_ms,
              channel, removal_effect, share, conversion_probability, paths, converting_paths
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
      channels: rows.map((r) => ({ channel: str(r['channel']), removalEffect: num(r['removal_effect']), share: num(r['share']) })),
    };
  }

  /** The site's paths in the training window before `asOfMs`, aggregated by channel sequence. */
  async trainingPaths(siteId: string, asOfMs: number): Promise<ChannelPath[]> {
    const lookbackMs = this.settings.get(siteId).lookbackDays * DAY_MS;
    const params = { site: siteId, from: asOfMs - MARKOV_TRAINING_DAYS * DAY_MS, to: asOfMs, lookback: lookbackMs, max: MAX_PATH_TOUCHES };
    const bots = `SELECT session_id FROM session_verdicts FINAL WHERE site_id = {site:String} AND verdict = 'bot'`;
    const converting = await this.store.query<Record<string, unknown>>(
      `SELECT path, toUInt64(count()) AS n FROM (
         SELECT c.call_id, arraySlice(arrayMap(t -> t.2, arraySort(groupArray((v.started_at, v.channel)))), -{max:UInt32}) AS path
         FROM (SELECT call_id, visitor_id, started_at FROM calls FINAL
               WHERE site_id = {site:String} AND started_at >= ${TIME('from')} AND started_at < ${TIME('to')}
                 AND visitor_id != '' AND direction != 'outbound' AND verdict != 'spam' AND match_method IN ${CONVERTING_METHODS}) AS c
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
    const paths = (rows: Array<Record<string, unknown>>, converted: boolean): ChannelPath[] =>
      rows.map((r) => ({ channels: (r['path'] as string[]) ?? [], converted, count: num(r['n']) }));
    return [...paths(converting, true), ...paths(never, false)];
  }

  /** Learns the site's model from its paths before `asOfMs`, stores it and puts it in force. */
  async compute(siteId: string, asOfMs = Date.now()): Promise<MarkovModel> {
    const paths = await this.trainingPaths(siteId, asOfMs);
    const result = markovRemovalEffects(paths);
    const total = paths.reduce((a, p) => a + (p.count ?? 1), 0);
    const converting = paths.filter((p) => p.converted).reduce((a, p) => a + (p.count ?? 1), 0);
    // Same paths, same id: a model is named by what it learnt from.
    const digest = createHash('sha256').update(JSON.stringify(paths)).digest('hex').slice(0, 12);
    const model: MarkovModel = {
      siteId,
      modelId: `${asOfMs}-${digest}`,
      computedAtMs: asOfMs,
      trainedFromMs: asOfMs - MARKOV_TRAINING_DAYS * DAY_MS,
      trainedToMs: asOfMs,
      paths: total,
      convertingPaths: converting,
      conversionProbability: result.conversionProbability,
      channels: [...result.shares].map(([channel, share]) => ({ channel, share, removalEffect: result.removalEffects.get(channel) ?? 0 })),
    };
    const iso = (ms: number): string => new Date(ms).toISOString();
    const rows = model.channels.map((c) => ({
      site_id: siteId,
      model_id: model.modelId,
      computed_at: iso(asOfMs),
      trained_from: iso(model.trainedFromMs),
      trained_to: iso(asOfMs),
      channel: c.channel,
      removal_effect: c.removalEffect,
      share: c.share,
      conversion_probability: model.conversionProbability,
      paths: total,
      converting_paths: converting,
    }));
    await this.store.write('markov_channel_weights', rows, `markov:${siteId}:${model.modelId}`);
    this.cache.set(siteId, { shares: new Map(model.channels.map((c) => [c.channel, c.share])), loadedAtMs: Date.now() });
    this.logger.info({
      event: 'markov_model_computed',
      site_id: siteId,
      model_id: model.modelId,
      paths: total,
      converting_paths: converting,
      channels: model.channels.length,
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
