// The time range every list and report endpoint takes: `from` and `to` as ISO 8601 with a
// zone, defaulting to the last 30 days, ordered, at most a year. Validated by zod, so a bad
// range is a 400 naming the parameter.
import { z } from 'zod';

const DAY_MS = 86_400_000;
const MAX_RANGE_DAYS = 366;
const DEFAULT_RANGE_DAYS = 30;

const isoTime = (field: string) =>
  z.iso.datetime({ offset: true, message: `${field} must be an ISO 8601 date-time with a time zone, e.g. 2025-01-31T00:00:00Z` }).optional();

export const rangeFields = { from: isoTime('from'), to: isoTime('to') };

/** The query with its range in epoch ms; adds an issue for an unordered or too long range. */
export function toRange<T extends { from?: string | undefined; to?: string | undefined }>(q: T, ctx: z.RefinementCtx): T & { fromMs: number; toMs: number } {
  const toMs = q.to ? Date.parse(q.to) : Date.now() + 1000;
  const fromMs = q.from ? Date.parse(q.from) : toMs - DEFAULT_RANGE_DAYS * DAY_MS;
  if (fromMs >= toMs) ctx.addIssue({ code: 'custom', path: ['from'], message: 'from must be before to' });
  else if (toMs - fromMs > MAX_RANGE_DAYS * DAY_MS)
    ctx.addIssue({ code: 'custom', path: ['to'], message: `the range from..to is at most ${MAX_RANGE_DAYS} days` });
  return { ...q, fromMs, toMs };
}

/** A whole-number query parameter within [min, max], with a default. */
export const intParam = (field: string, min: number, max: number, fallback: number) =>
  z.coerce
    .number({ message: `${field} must be a number` })
    .int(`${field} must be a whole number`)
    .min(min, `${field} must be ${min}..${max}`)
    .max(max, `${field} must be ${min}..${max}`)
    .default(fallback);
