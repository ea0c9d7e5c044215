// Ad costs and conversion revenue: the request schemas of their admin API, and the
// events' mapping to ClickHouse rows (ad_costs, conversion_revenue).
import { classifyChannel, type DomainEvent } from '@calltrack/contracts';
import { z } from 'zod';
import type { AdCostRow, ConversionRevenueRow } from '../store/rows.js';
import { deadLetter, ok, type StepResult } from '../step-result.js';

/** Rows per request, and per event: an import is published in parts that stay far below Kafka's 1 MB message limit. */
export const MAX_IMPORT_ROWS = 20_000;
export const ROWS_PER_EVENT = 1_000;

const CURRENCY = /^[A-Z]{3}$/;
const DAY = /^\d{4}-\d{2}-\d{2}$/;

export function isCalendarDay(s: string): boolean {
  if (!DAY.test(s)) return false;
  const d = new Date(`${s}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s && s >= '2000-01-01' && s < '2200-01-01';
}

const text = (field: string, max: number) =>
  z
    .string({ message: `${field} must be a string` })
    .trim()
    .max(max, `${field}: at most ${max} characters`);
const count = (field: string) =>
  z
    .number({ message: `${field} must be a number` })
    .int(`${field} must be a whole number`)
    .min(0, `${field} must not be negative`)
    .max(Number.MAX_SAFE_INTEGER, `${field} is too large`);

const currency = z.string().regex(CURRENCY, 'currency must be an ISO 4217 code such as RUB or USD');

export const adCostRowSchema = z.strictObject({
  day: z.string().refine(isCalendarDay, 'day must be a calendar date YYYY-MM-DD (2000-2199)'),
  source: text('source', 200).min(1, 'source must not be empty (the utm_source of the ads)'),
  medium: text('medium', 200).default(''),
  campaign: text('campaign', 500).default(''),
  keyword: text('keyword', 500).default(''),
  cost: z.number({ message: 'cost must be a number' }).min(0, 'cost must not be negative').max(1e12, 'cost is too large'),
  clicks: count('clicks').default(0),
  impressions: count('impressions').default(0),
  currency: currency.optional(),
});

export const adCostImportSchema = z
  .strictObject({
    /** The client's id of this import: re-sending it is harmless. Default: a new one. */
    importId: z
      .string()
      .regex(/^[\w.:-]{1,128}$/, 'importId: 1-128 of letters, digits, "_", ".", ":", "-"')
      .optional(),
    /** Currency of rows that name none. */
    currency: currency.optional(),
    rows: z.array(adCostRowSchema).min(1, 'rows must not be empty').max(MAX_IMPORT_ROWS, `at most ${MAX_IMPORT_ROWS} rows per import: split it`),
  })
  .superRefine((body, ctx) => {
    const seen = new Map<string, number>();
    body.rows.forEach((r, i) => {
      if (!r.currency && !body.currency)
        ctx.addIssue({ code: 'custom', path: ['rows', i, 'currency'], message: 'give the currency of the row or of the import' });
      const key = [r.day, r.source, r.medium, r.campaign, r.keyword].join('\n');
      const first = seen.get(key);
      if (first !== undefined)
        ctx.addIssue({ code: 'custom', path: ['rows', i], message: `rows ${first} and ${i} have the same day, source, medium, campaign and keyword` });
      else seen.set(key, i);
    });
  });

export type AdCostImport = z.infer<typeof adCostImportSchema>;

export const revenueBodySchema = z.strictObject({
  amount: z.number({ message: 'amount must be a number' }).min(0, 'amount must not be negative').max(1e12, 'amount is too large'),
  currency,
  dealId: z.string().max(200, 'dealId: at most 200 characters').default(''),
  author: z.string().max(200, 'author: at most 200 characters').default(''),
});

/** The channel of a cost row, by the rules that classify visits (docs/channels.md), from its tags alone. */
export function costChannel(source: string, medium: string): string {
  return classifyChannel({ utmSource: source, utmMedium: medium, clickIds: {}, referrer: '', landingPage: '' });
}

/** Rows of an import event, or a dead letter naming its first bad row; the event's time is the version, so a later import of the same key wins. */
export function adCostRows(event: DomainEvent<'AdCostsImported'>): StepResult<AdCostRow[]> {
  const p = event.payload;
  if (!p.importId) return deadLetter('AdCostsImported has no importId');
  const rows: AdCostRow[] = [];
  for (const [i, r] of (p.rows ?? []).entries()) {
    const day = r.day ?? '';
    const source = r.source ?? '';
    const cost = Number(r.cost ?? 0);
    const problem = !isCalendarDay(day)
      ? `row ${i}: day ${day} is not a calendar date YYYY-MM-DD`
      : !source
        ? `row ${i}: source is missing`
        : !Number.isFinite(cost) || cost < 0
          ? `row ${i}: cost ${cost} is not a non-negative number`
          : !CURRENCY.test(r.currency ?? '')
            ? `row ${i}: currency ${r.currency} is not an ISO 4217 code`
            : undefined;
    if (problem) return deadLetter(problem);
    rows.push({
      site_id: event.siteId,
      day,
      channel: r.channel || costChannel(source, r.medium ?? ''),
      source,
      medium: r.medium ?? '',
      campaign: r.campaign ?? '',
      keyword: r.keyword ?? '',
      cost,
      clicks: Number(r.clicks ?? 0),
      impressions: Number(r.impressions ?? 0),
      currency: r.currency!,
      import_id: p.importId,
      imported_by: p.importedBy ?? '',
      version: event.occurredAtMs,
    });
  }
  return ok(rows);
}

export function conversionRevenueRow(event: DomainEvent<'ConversionRevenueRecorded'>): StepResult<ConversionRevenueRow> {
  const p = event.payload;
  const amount = Number(p.amount ?? 0);
  const problem = !p.callId
    ? 'ConversionRevenueRecorded has no callId'
    : !Number.isFinite(amount) || amount < 0
      ? `amount ${amount} is not a non-negative number`
      : !CURRENCY.test(p.currency ?? '')
        ? `currency ${p.currency} is not an ISO 4217 code`
        : undefined;
  if (problem) return deadLetter(problem);
  return ok({
    site_id: event.siteId,
    call_id: p.callId,
    amount,
    currency: p.currency,
    deal_id: p.dealId ?? '',
    author: p.author ?? '',
    recorded_at: new Date(event.occurredAtMs).toISOString(),
    event_id: event.eventId,
  });
}
