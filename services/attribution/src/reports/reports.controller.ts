import { Controller, Get, Param, Query, UseGuards } from '@nestjs/common';
import { toE164 } from '@calltrack/phone';
import { AdminTokenGuard, ApiError, SiteDirectory, siteIdPipe, ZodValidationPipe } from '@calltrack/service-kit';
import { z } from 'zod';
import { AttributionSettingsService } from '../settings/attribution-settings.service.js';
import { learntModelView, MarkovModelService } from '../models/markov-model.service.js';
import { ATTRIBUTION_MODELS } from '../models/attribution-models.js';
import { intParam, rangeFields, toRange } from '../api/range-query.js';
import { ReportQueries, SEGMENTS, SOURCE_LEVELS, type ReportRange } from './report-queries.js';

const model = z.enum(ATTRIBUTION_MODELS, { message: `model must be one of ${ATTRIBUTION_MODELS.join(', ')}` }).optional();

export const sourcesQuery = z
  .strictObject({ ...rangeFields, level: z.enum(SOURCE_LEVELS, { message: `level must be one of ${SOURCE_LEVELS.join(', ')}` }).default('source'), model })
  .transform(toRange);
export const rangeQuery = z.strictObject(rangeFields).transform(toRange);
export const segmentsQuery = z
  .strictObject({ ...rangeFields, by: z.enum(SEGMENTS, { message: `by must be one of ${SEGMENTS.join(', ')}` }) })
  .transform(toRange);
export const pathsQuery = z.strictObject({ ...rangeFields, top: intParam('top', 1, 100, 20) }).transform(toRange);
export const missedQuery = z
  .strictObject({
    ...rangeFields,
    status: z
      .enum(['not_called_back', 'pending', 'called_back', 'all'], { message: 'status must be one of not_called_back, pending, called_back, all' })
      .default('not_called_back'),
    limit: intParam('limit', 1, 1000, 100),
  })
  .transform(toRange);
export const visitorQuery = z.strictObject({ limit: intParam('limit', 1, 1000, 200) });
export const visitorByPhoneQuery = z.strictObject({
  phone: z.string({ message: 'phone is required' }).min(1, 'phone is required').max(40, 'phone: at most 40 characters'),
  limit: intParam('limit', 1, 1000, 200),
});

const visitorIdPipe = new ZodValidationPipe(z.string().regex(/^[\w.-]{1,64}$/, '1-64 of letters, digits, "_", ".", "-"'), 'visitor id');

/**
 * The reports (docs/reports.md): by source down to keyword with cost and ROMI, day by
 * hour, device/region/landing page, multi-channel paths, missed calls, the visitor card
 * and the models side by side. Read from ClickHouse; days and hours in the site's zone.
 */
@Controller('v1/sites/:siteId')
@UseGuards(AdminTokenGuard)
export class ReportsController {
  constructor(
    private readonly reports: ReportQueries,
    private readonly sites: SiteDirectory,
    private readonly settings: AttributionSettingsService,
    private readonly learnt: MarkovModelService,
  ) {}

  private site(siteId: string): { timeZone: string; country: string } {
    const site = this.sites.get(siteId);
    if (!site) throw new ApiError(404, 'unknown_site', `site ${siteId} is not configured`);
    return { timeZone: site.timeZone || 'UTC', country: site.country || '' };
  }

  private range(siteId: string, q: { fromMs: number; toMs: number }): ReportRange {
    return { siteId, fromMs: q.fromMs, toMs: q.toMs, timeZone: this.site(siteId).timeZone };
  }

  private static frame(r: ReportRange): { siteId: string; from: string; to: string; timeZone: string } {
    return { siteId: r.siteId, from: new Date(r.fromMs).toISOString(), to: new Date(r.toMs).toISOString(), timeZone: r.timeZone };
  }

  /** (a) Visits, calls (credited under a model), unique, target and missed calls, cost, revenue and ROMI per source. */
  @Get('reports/sources')
  async sources(
    @Param('siteId', siteIdPipe) siteId: string,
    @Query(new ZodValidationPipe(sourcesQuery, 'query')) q: z.infer<typeof sourcesQuery>,
  ): Promise<object> {
    const r = this.range(siteId, q);
    const m = q.model ?? this.settings.get(siteId).defaultModel;
    const rows = await this.reports.sources(r, q.level, m);
    const total = (f: (row: (typeof rows)[number]) => number) => Math.round(rows.reduce((a, row) => a + f(row), 0) * 1e6) / 1e6;
    return {
      ...ReportsController.frame(r),
      level: q.level,
      model: m,
      totals: {
        visits: total((x) => x.visits),
        calls: total((x) => x.calls),
        enquiries: total((x) => x.enquiries),
        targetCalls: total((x) => x.targetCalls),
        missedCalls: total((x) => x.missedCalls),
        cost: total((x) => x.cost),
        revenue: total((x) => x.revenue),
      },
      rows,
    };
  }

  /** (b) Visits and calls per day and hour of the site's time zone. */
  @Get('reports/day-by-hour')
  async dayByHour(
    @Param('siteId', siteIdPipe) siteId: string,
    @Query(new ZodValidationPipe(rangeQuery, 'query')) q: z.infer<typeof rangeQuery>,
  ): Promise<object> {
    const r = this.range(siteId, q);
    return { ...ReportsController.frame(r), rows: await this.reports.dayByHour(r) };
  }

  /** (c) Visits and calls per device, browser, OS, country, region, city or landing page. */
  @Get('reports/segments')
  async segments(
    @Param('siteId', siteIdPipe) siteId: string,
    @Query(new ZodValidationPipe(segmentsQuery, 'query')) q: z.infer<typeof segmentsQuery>,
  ): Promise<object> {
    const r = this.range(siteId, q);
    return { ...ReportsController.frame(r), by: q.by, rows: await this.reports.segments(r, q.by) };
  }

  /** (d) Multi-channel sequences: top paths, path lengths, time lag, assisted against last-click conversions. */
  @Get('reports/paths')
  async paths(@Param('siteId', siteIdPipe) siteId: string, @Query(new ZodValidationPipe(pathsQuery, 'query')) q: z.infer<typeof pathsQuery>): Promise<object> {
    const r = this.range(siteId, q);
    return { ...ReportsController.frame(r), ...(await this.reports.paths(r, q.top)) };
  }

  /** (e) Missed calls: how many were called back, and those that were not. */
  @Get('reports/missed')
  async missed(
    @Param('siteId', siteIdPipe) siteId: string,
    @Query(new ZodValidationPipe(missedQuery, 'query')) q: z.infer<typeof missedQuery>,
  ): Promise<object> {
    const r = this.range(siteId, q);
    return { ...ReportsController.frame(r), status: q.status, ...(await this.reports.missed(r, q.status, q.limit)) };
  }

  /**
   * (g) Each channel's calls under every attribution model, and the learnt models in force:
   * each channel's removal effect, Shapley value, conversions and their value under both (null before any was learnt).
   */
  @Get('reports/models')
  async models(@Param('siteId', siteIdPipe) siteId: string, @Query(new ZodValidationPipe(rangeQuery, 'query')) q: z.infer<typeof rangeQuery>): Promise<object> {
    const r = this.range(siteId, q);
    const learnt = await this.learnt.latest(siteId);
    return {
      ...ReportsController.frame(r),
      models: ATTRIBUTION_MODELS,
      rows: await this.reports.modelsSideBySide(r),
      learntModels: learnt ? learntModelView(learnt) : null,
    };
  }

  /** (f) The visitor card of a caller's phone number (any format of the site's country). */
  @Get('visitors')
  async byPhone(
    @Param('siteId', siteIdPipe) siteId: string,
    @Query(new ZodValidationPipe(visitorByPhoneQuery, 'query')) q: z.infer<typeof visitorByPhoneQuery>,
  ): Promise<object> {
    const { country } = this.site(siteId);
    const phone = toE164(q.phone, country);
    if (!phone) throw new ApiError(400, 'invalid_phone', `phone: ${q.phone} is not a valid number${country ? ` (country ${country})` : ''}`);
    const card = await this.reports.visitorCard(siteId, { phone }, q.limit);
    if (!card) throw new ApiError(404, 'not_found', `no visits, calls or enquiries of ${phone} on site ${siteId}`);
    return card;
  }

  /** (f) The visitor card: one visitor's visits, calls, enquiries and sources (with their other devices, by phone). */
  @Get('visitors/:visitorId')
  async visitor(
    @Param('siteId', siteIdPipe) siteId: string,
    @Param('visitorId', visitorIdPipe) visitorId: string,
    @Query(new ZodValidationPipe(visitorQuery, 'query')) q: z.infer<typeof visitorQuery>,
  ): Promise<object> {
    this.site(siteId);
    const card = await this.reports.visitorCard(siteId, { visitorId }, q.limit);
    if (!card) throw new ApiError(404, 'not_found', `no visitor ${visitorId} on site ${siteId}`);
    return card;
  }
}
