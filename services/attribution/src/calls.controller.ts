import { Controller, Get, Param, Query, UseGuards } from '@nestjs/common';
import { AdminTokenGuard, ApiError, siteIdPipe, ZodValidationPipe } from '@calltrack/service-kit';
import { z } from 'zod';
import { AttributionStore, type Row } from './attribution-store.js';

const DAY = 86_400_000;
const range = z
  .object({
    from: z.iso.datetime({ offset: true }).optional(),
    to: z.iso.datetime({ offset: true }).optional(),
  })
  .transform((q) => ({ fromMs: q.from ? Date.parse(q.from) : Date.now() - 30 * DAY, toMs: q.to ? Date.parse(q.to) : Date.now() + DAY }))
  .refine((r) => r.fromMs < r.toMs, 'from must be before to')
  .refine((r) => r.toMs - r.fromMs <= 366 * DAY, 'a range is at most 366 days');
const listQuery = z
  .object({ from: z.string().optional(), to: z.string().optional(), limit: z.coerce.number().int().min(1).max(1000).default(100) })
  .strict()
  .transform((q, ctx) => {
    const r = range.safeParse({ from: q.from, to: q.to });
    if (!r.success) {
      for (const issue of r.error.issues) ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path });
      return z.NEVER;
    }
    return { ...r.data, limit: q.limit };
  });
const reportQuery = z.object({ from: z.string().optional(), to: z.string().optional() }).strict().pipe(range);

/** Attributed calls and a first channel report, read from ClickHouse. */
@Controller('v1/sites/:siteId')
@UseGuards(AdminTokenGuard)
export class CallsController {
  constructor(private readonly store: AttributionStore) {}

  @Get('calls')
  async list(@Param('siteId', siteIdPipe) siteId: string, @Query(new ZodValidationPipe(listQuery, 'query')) q: z.infer<typeof listQuery>): Promise<{ calls: Row[] }> {
    return { calls: await this.store.calls(siteId, q.fromMs, q.toMs, q.limit) };
  }

  @Get('calls/:callId')
  async one(@Param('siteId', siteIdPipe) siteId: string, @Param('callId') callId: string): Promise<Row> {
    if (callId.length > 200) throw new ApiError(400, 'invalid_request', 'call id: at most 200 characters');
    const call = await this.store.call(siteId, callId);
    if (!call) throw new ApiError(404, 'not_found', `no call ${callId} on site ${siteId}`);
    return call;
  }

  @Get('report/channels')
  async channels(@Param('siteId', siteIdPipe) siteId: string, @Query(new ZodValidationPipe(reportQuery, 'query')) q: z.infer<typeof reportQuery>): Promise<{ rows: Row[] }> {
    return { rows: await this.store.channelReport(siteId, q.fromMs, q.toMs) };
  }
}
