import { Body, Controller, Param, Post, Res, UseGuards } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { toE164 } from '@calltrack/phone';
import { AdminTokenGuard, ApiError, siteIdPipe, ZodValidationPipe } from '@calltrack/service-kit';
import { z } from 'zod';
import { PoolService } from './pool.service.js';

export const redeemPromoCodeBody = z
  .object({
    /** The platform call id ("<provider>:<provider call id>"), when the call is known. */
    callId: z.string().min(1).max(200).optional(),
    /** Or the caller's number and the time of the call. */
    callerNumber: z.string().min(3).max(40).optional(),
    calledAt: z.iso.datetime({ offset: true }).optional(),
    redeemedBy: z.string().max(200).default(''),
  })
  .strict()
  .refine((b) => b.callId || (b.callerNumber && b.calledAt), { message: 'give callId, or callerNumber and calledAt' });

type RedeemPromoCodeBody = z.infer<typeof redeemPromoCodeBody>;

const codeParam = new ZodValidationPipe(z.string().min(1).max(40), 'promo code');

/** Operators link a call to the session that was shown the promo code the caller named. */
@Controller('v1/admin/sites/:siteId/promo-codes')
@UseGuards(AdminTokenGuard)
export class PromoCodesAdminController {
  constructor(private readonly pools: PoolService) {}

  @Post(':code/redemptions')
  async redeem(
    @Param('siteId', siteIdPipe) siteId: string,
    @Param('code', codeParam) rawCode: string,
    @Body(new ZodValidationPipe(redeemPromoCodeBody)) body: RedeemPromoCodeBody,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<object> {
    const site = this.pools.siteConfig(siteId);
    if (!site) throw new ApiError(404, 'unknown_site', `site ${siteId} is not configured`);
    const code = normalisePromoCode(rawCode, site.promoCodes?.prefix ?? '');
    let callerNumber = '';
    if (body.callerNumber) {
      callerNumber = toE164(body.callerNumber, site.country) ?? '';
      if (!callerNumber) throw new ApiError(400, 'invalid_request', `callerNumber: "${body.callerNumber}" is not a valid phone number in ${site.country}`);
    }
    const calledAtMs = body.calledAt ? Date.parse(body.calledAt) : Date.now();
    const result = await this.pools.redeemPromoCode(siteId, code, { callId: body.callId ?? '', callerNumber, calledAtMs, redeemedBy: body.redeemedBy });
    switch (result.kind) {
      case 'unknown_site':
        throw new ApiError(404, 'unknown_site', `site ${siteId} is not configured`);
      case 'not_found':
        throw new ApiError(404, 'promo_code_not_found', `no session of site ${siteId} was shown promo code ${code} at ${new Date(calledAtMs).toISOString()}`);
      case 'conflict':
        throw new ApiError(409, 'call_already_linked', `the call is already linked to promo code ${result.code}`);
      case 'redeemed': {
        const r = result.redemption;
        reply.status(result.duplicate ? 200 : 201);
        return {
          siteId,
          promoCode: r.promoCode,
          sessionId: r.sessionId,
          visitorId: r.visitorId,
          leaseId: r.leaseId,
          callId: r.callId || undefined,
          callerNumber: r.callerNumber || undefined,
          calledAt: new Date(Number(r.calledAtMs)).toISOString(),
          duplicate: result.duplicate,
        };
      }
    }
  }
}

/** What a caller reads out or an operator types: any case, spaces and dashes, with or without the site's prefix. */
export function normalisePromoCode(raw: string, prefix: string): string {
  let code = raw.trim().toUpperCase();
  const p = prefix.toUpperCase();
  if (p && code.startsWith(p)) code = code.slice(p.length);
  return code.replace(/[\s-]+/g, '');
}
