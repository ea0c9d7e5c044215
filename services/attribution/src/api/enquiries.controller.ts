import { Controller, Get, Param, Query, UseGuards } from '@nestjs/common';
import { AdminTokenGuard, siteIdPipe, ZodValidationPipe } from '@calltrack/service-kit';
import type { z } from 'zod';
import { AttributionStore } from '../store/attribution-store.js';
import { listQuery } from './calls.controller.js';
import { EnquiryLookups } from '../store/enquiry-lookups.js';
import { TIME } from '../store/values.js';

type ListQuery = z.infer<typeof listQuery>;
const rangeOf = (q: ListQuery) => ({ from: new Date(q.fromMs).toISOString(), to: new Date(q.toMs).toISOString() });

/** Attributed enquiries and leads, read from ClickHouse (FINAL: one row each, in its latest state). */
@Controller('v1/sites/:siteId')
@UseGuards(AdminTokenGuard)
export class EnquiriesController {
  constructor(
    private readonly store: AttributionStore,
    private readonly lookups: EnquiryLookups,
  ) {}

  /** Enquiries that occurred in [from, to), newest first. */
  @Get('enquiries')
  async list(@Param('siteId', siteIdPipe) siteId: string, @Query(new ZodValidationPipe(listQuery, 'query')) q: ListQuery): Promise<object> {
    const rows = await this.lookups.enquiries(
      `site_id = {site:String} AND occurred_at >= ${TIME('from')} AND occurred_at < ${TIME('to')}`,
      { site: siteId, from: q.fromMs, to: q.toMs, limit: q.limit },
      'ORDER BY occurred_at DESC, enquiry_id DESC LIMIT {limit:UInt32}',
    );
    // version is technical (and a bigint, which JSON cannot carry).
    const enquiries = rows.map(({ version: _v, ...r }) => r);
    return { siteId, ...rangeOf(q), enquiries };
  }

  /** Leads whose first contact was in [from, to), newest first. */
  @Get('leads')
  async leads(@Param('siteId', siteIdPipe) siteId: string, @Query(new ZodValidationPipe(listQuery, 'query')) q: ListQuery): Promise<object> {
    const rows = await this.store.query<Record<string, unknown>>(
      `SELECT lead_id, person_key, toUnixTimestamp64Milli(first_contact_at) AS first_ms, toUnixTimestamp64Milli(last_contact_at) AS last_ms, first_contact_kind,
              calls, target_calls, missed_calls, enquiries, channel, utm_source, utm_medium, utm_campaign, utm_term, visitor_id
       FROM leads FINAL
       WHERE site_id = {site:String} AND first_contact_at >= ${TIME('from')} AND first_contact_at < ${TIME('to')}
       ORDER BY first_contact_at DESC, lead_id DESC LIMIT {limit:UInt32}`,
      { site: siteId, from: q.fromMs, to: q.toMs, limit: q.limit },
    );
    const leads = rows.map((r) => ({
      leadId: String(r['lead_id']),
      personKey: String(r['person_key']),
      firstContactAt: new Date(Number(r['first_ms'])).toISOString(),
      lastContactAt: new Date(Number(r['last_ms'])).toISOString(),
      firstContactKind: String(r['first_contact_kind']),
      calls: Number(r['calls']),
      targetCalls: Number(r['target_calls']),
      missedCalls: Number(r['missed_calls']),
      enquiries: Number(r['enquiries']),
      channel: String(r['channel']),
      utmSource: String(r['utm_source']),
      utmMedium: String(r['utm_medium']),
      utmCampaign: String(r['utm_campaign']),
      utmTerm: String(r['utm_term']),
      visitorId: String(r['visitor_id']),
    }));
    return { siteId, ...rangeOf(q), leads };
  }
}
