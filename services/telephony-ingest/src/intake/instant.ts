import { z } from 'zod';

// Epoch values outside this range are almost always seconds sent as milliseconds (or garbage).
const MIN_EPOCH_MS = Date.UTC(2000, 0, 1);
const MAX_EPOCH_MS = Date.UTC(2100, 0, 1);
const ISO_INSTANT = z.iso.datetime({ offset: true });

/** An instant as an ISO-8601 string with a zone (Z or ±hh:mm) or epoch milliseconds; parsed to epoch ms (the call webhook and the enquiry API). */
export const instant = z.unknown().transform((value, ctx): number => {
  if (typeof value === 'number') {
    if (Number.isInteger(value) && value >= MIN_EPOCH_MS && value < MAX_EPOCH_MS) return value;
    ctx.addIssue({
      code: 'custom',
      message: 'epoch milliseconds must be an integer between 2000-01-01 and 2100-01-01 (seconds sent instead of milliseconds?)',
    });
    return z.NEVER;
  }
  if (typeof value === 'string' && ISO_INSTANT.safeParse(value).success) {
    const ms = Date.parse(value);
    if (Number.isFinite(ms) && ms >= MIN_EPOCH_MS && ms < MAX_EPOCH_MS) return ms;
  }
  ctx.addIssue({ code: 'custom', message: 'expected an ISO-8601 date-time with a zone (e.g. "2025-01-31T09:15:00Z") or epoch milliseconds' });
  return z.NEVER;
});
