import { Controller, Get, Param, Query, UseGuards } from '@nestjs/common';
import { AdminTokenGuard, ApiError, siteIdPipe, ZodValidationPipe } from '@calltrack/service-kit';
import { z } from 'zod';
import { AttributionSettingsService } from '../settings/attribution-settings.service.js';
import { AttributionStore } from '../store/attribution-store.js';
import { ATTRIBUTION_MODELS, type AttributionModel } from '../models/attribution-models.js';
import { intParam, rangeFields, toRange } from './range-query.js';
import { callView, type CallView } from '../store/row-mappers.js';
import type { AttributionReportRow, ChannelReportRow } from '../store/rows.js';

/** from/to/limit of the list endpoints (calls, enquiries, leads). */
export const listQuery = z
  .strictObject({
    ...rangeFields,
    limit: intParam('limit', 1, 1000, 100),
  })
  .transform(toRange);

const reportQuery = z.strictObject(rangeFields).transform(toRange);

const attributionQuery = z
  .strictObject({ ...rangeFields, model: z.enum(ATTRIBUTION_MODELS, { message: `model must be one of ${ATTRIBUTION_MODELS.join(', ')}` }).optional() })
  .transform(toRange);

const callIdPipe = new ZodValidationPipe(z.string().min(1, 'is empty').max(256, 'at most 256 characters'), 'call id');

/** Attributed calls and a first channel report, read from ClickHouse (FINAL: one row per call). */
@Controller('v1/sites/:siteId')
@UseGuards(AdminTokenGuard)
export class CallsController {
  constructor(
    private readonly store: AttributionStore,
    private readonly settings: AttributionSettingsService,
  ) {}

  /** Calls that started in [from, to), newest first. */
  @Get('calls')
  async list(
    @Param('siteId', siteIdPipe) siteId: string,
    @Query(new ZodValidationPipe(listQuery, 'query')) q: z.infer<typeof listQuery>,
  ): Promise<{ siteId: string; from: string; to: string; calls: CallView[] }> {
    const rows = await this.store.calls(siteId, q.fromMs, q.toMs, q.limit);
    return { siteId, from: new Date(q.fromMs).toISOString(), to: new Date(q.toMs).toISOString(), calls: rows.map(callView) };
  }

  /**
   * One call in its latest state. A wildcard rather than `:callId`: call ids (`<provider>:<id>`,
   * URL-encoded) outgrow the router's 100-character limit on a parameter, and may hold a `/`.
   */
  @Get('calls/*')
  async one(@Param('siteId', siteIdPipe) siteId: string, @Param('*', callIdPipe) callId: string): Promise<CallView> {
    const row = await this.store.call(siteId, callId);
    if (!row) throw new ApiError(404, 'not_found', `no call ${callId} on site ${siteId}`);
    return callView(row);
  }

  /** Visits, calls, answered and spam calls per utm_source / utm_medium, for visits and calls that started in [from, to). */
  @Get('report/channels')
  async channels(
    @Param('siteId', siteIdPipe) siteId: string,
    @Query(new ZodValidationPipe(reportQuery, 'query')) q: z.infer<typeof reportQuery>,
  ): Promise<{ siteId: string; from: string; to: string; rows: ChannelReportRow[] }> {
    const rows = await this.store.channelReport(siteId, q.fromMs, q.toMs);
    return { siteId, from: new Date(q.fromMs).toISOString(), to: new Date(q.toMs).toISOString(), rows };
  }

  /** Calls per channel and source credited under a model (default: the site's default model), from attribution_credits. */
  @Get('report/attribution')
  async attribution(
    @Param('siteId', siteIdPipe) siteId: string,
    @Query(new ZodValidationPipe(attributionQuery, 'query')) q: z.infer<typeof attributionQuery>,
  ): Promise<{ siteId: string; model: AttributionModel; from: string; to: string; rows: AttributionReportRow[] }> {
    const model = q.model ?? this.settings.get(siteId).defaultModel;
    const rows = await this.store.attributionReport(siteId, model, q.fromMs, q.toMs);
    return { siteId, model, from: new Date(q.fromMs).toISOString(), to: new Date(q.toMs).toISOString(), rows };
  }
}
