import { Body, Controller, Get, Headers, HttpCode, Param, Post, Put, Query, UseGuards } from '@nestjs/common';
import { callKey, createEvent, newEventId, siteKey } from '@calltrack/contracts';
import { KafkaBus } from '@calltrack/kafka';
import { AdminTokenGuard, ApiError, SiteDirectory, siteIdPipe, ZodValidationPipe } from '@calltrack/service-kit';
import { z } from 'zod';
import { AttributionStore } from '../store/attribution-store.js';
import { SERVICE_NAME } from '../config.js';
import { adCostImportSchema, conversionRevenueRow, costChannel, isCalendarDay, revenueBodySchema, ROWS_PER_EVENT, type AdCostImport } from './ad-costs.js';
import { num, str } from '../store/values.js';

const operatorOf = (header: string | undefined): string => (header ?? '').slice(0, 200) || 'admin-api';
const callIdPipe = new ZodValidationPipe(z.string().min(1, 'is empty').max(256, 'at most 256 characters'), 'call id');
const MAX_LIST_DAYS = 366;

export const adCostsQuery = z
  .strictObject({
    from: z.string().refine(isCalendarDay, 'from must be a calendar date YYYY-MM-DD'),
    to: z.string().refine(isCalendarDay, 'to must be a calendar date YYYY-MM-DD'),
  })
  .refine((q) => q.from <= q.to, { message: 'from must not be after to', path: ['from'] })
  .refine((q) => (Date.parse(q.to) - Date.parse(q.from)) / 86_400_000 < MAX_LIST_DAYS, { message: `from..to is at most ${MAX_LIST_DAYS} days`, path: ['to'] });

/**
 * Ad costs (per day, source, medium, campaign, keyword) and the revenue of calls and
 * enquiries: each import or record is an event (topics ad-costs and call-annotations),
 * projected into ClickHouse by the state consumer, where the reports join them.
 */
@Controller('v1/admin/sites/:siteId')
@UseGuards(AdminTokenGuard)
export class AdCostsController {
  constructor(
    private readonly bus: KafkaBus,
    private readonly store: AttributionStore,
    private readonly sites: SiteDirectory,
  ) {}

  private requireSite(siteId: string): void {
    if (!this.sites.get(siteId)) throw new ApiError(404, 'unknown_site', `site ${siteId} is not configured`);
  }

  /** Imports cost rows; a row of the same day and keys as an earlier import replaces it. */
  @Post('ad-costs')
  @HttpCode(202)
  async import(
    @Param('siteId', siteIdPipe) siteId: string,
    @Body(new ZodValidationPipe(adCostImportSchema)) body: AdCostImport,
    @Headers('x-operator') operator: string | undefined,
  ): Promise<object> {
    this.requireSite(siteId);
    const importId = body.importId ?? newEventId();
    // One version for every part, so the parts of one import never outrank each other.
    const occurredAtMs = Date.now();
    const rows = body.rows.map((r) => ({ ...r, currency: r.currency ?? body.currency!, channel: costChannel(r.source, r.medium) }));
    const parts = Math.ceil(rows.length / ROWS_PER_EVENT);
    for (let part = 0; part < parts; part++) {
      const event = createEvent(
        'AdCostsImported',
        { importId, importedBy: operatorOf(operator), rows: rows.slice(part * ROWS_PER_EVENT, (part + 1) * ROWS_PER_EVENT) },
        { siteId, producer: SERVICE_NAME, occurredAtMs },
      );
      await this.bus.producer.publish('adCosts', siteKey(siteId), event);
    }
    const days = [...new Set(rows.map((r) => r.day))].sort();
    return { siteId, importId, rows: rows.length, events: parts, from: days[0], to: days[days.length - 1] };
  }

  /** Cost rows of days from..to (inclusive), as the reports see them. */
  @Get('ad-costs')
  async list(
    @Param('siteId', siteIdPipe) siteId: string,
    @Query(new ZodValidationPipe(adCostsQuery, 'query')) q: z.infer<typeof adCostsQuery>,
  ): Promise<object> {
    const rows = await this.store.query<Record<string, unknown>>(
      `SELECT toString(day) AS day_text, channel, source, medium, campaign, keyword, cost, clicks, impressions, currency, import_id, imported_by
       FROM ad_costs FINAL WHERE site_id = {site:String} AND day >= toDate({from:String}) AND day <= toDate({to:String})
       ORDER BY day, source, medium, campaign, keyword LIMIT 100000`,
      { site: siteId, from: q.from, to: q.to },
    );
    return {
      siteId,
      from: q.from,
      to: q.to,
      rows: rows.map((r) => ({
        day: str(r['day_text']),
        channel: str(r['channel']),
        source: str(r['source']),
        medium: str(r['medium']),
        campaign: str(r['campaign']),
        keyword: str(r['keyword']),
        cost: num(r['cost']),
        clicks: num(r['clicks']),
        impressions: num(r['impressions']),
        currency: str(r['currency']),
        importId: str(r['import_id']),
        importedBy: str(r['imported_by']),
      })),
    };
  }

  /**
   * The revenue a call (or an enquiry, "enquiry:<id>") brought: the deal amount from the
   * CRM or a manager. The latest record wins; amount 0 clears it.
   */
  @Put('revenue/*')
  @HttpCode(200)
  async revenue(
    @Param('siteId', siteIdPipe) siteId: string,
    @Param('*', callIdPipe) callId: string,
    @Body(new ZodValidationPipe(revenueBodySchema)) body: z.infer<typeof revenueBodySchema>,
  ): Promise<object> {
    this.requireSite(siteId);
    const known = callId.startsWith('enquiry:')
      ? await this.store.query(`SELECT 1 FROM enquiries WHERE site_id = {site:String} AND enquiry_id = {id:String} LIMIT 1`, {
          site: siteId,
          id: callId.slice('enquiry:'.length),
        })
      : await this.store.query(`SELECT 1 FROM calls WHERE site_id = {site:String} AND call_id = {id:String} LIMIT 1`, { site: siteId, id: callId });
    if (known.length === 0) throw new ApiError(404, 'not_found', `no call or enquiry ${callId} on site ${siteId}`);
    const event = createEvent(
      'ConversionRevenueRecorded',
      { callId, amount: body.amount, currency: body.currency, dealId: body.dealId, author: body.author },
      { siteId, producer: SERVICE_NAME },
    );
    // The body was checked, so the projection stores this event; one it would dead-letter is refused before it is published.
    const mapped = conversionRevenueRow(event);
    if (!mapped.ok) throw new ApiError(400, 'invalid_revenue', mapped.reason);
    const row = mapped.value;
    await this.bus.producer.publish('callAnnotations', callKey(siteId, callId), event);
    // Written here too, so a report right after sees it; the projection writes the same row again (it collapses).
    await this.store.write('conversion_revenue', [row], `api:${event.eventId}`);
    return { siteId, callId, amount: row.amount, currency: row.currency, dealId: row.deal_id, recordedAt: row.recorded_at };
  }
}
