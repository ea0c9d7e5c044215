import { Body, Controller, Delete, Get, HttpCode, Param, Put, UseGuards } from '@nestjs/common';
import { toE164 } from '@calltrack/phone';
import { AdminTokenGuard, ApiError, SiteDirectory, siteIdPipe, ZodValidationPipe } from '@calltrack/service-kit';
import { z } from 'zod';
import { ScreeningService } from './screening.service.js';

const blockBody = z.object({ reason: z.string().max(500).default('') }).strict();

@Controller('v1/admin/sites/:siteId')
@UseGuards(AdminTokenGuard)
export class BlocklistAdminController {
  constructor(
    private readonly screening: ScreeningService,
    private readonly sites: SiteDirectory,
  ) {}

  private phone(siteId: string, raw: string): string {
    const site = this.sites.get(siteId);
    if (!site) throw new ApiError(404, 'unknown_site', `site ${siteId} is not configured`);
    const phone = toE164(raw, site.country);
    if (!phone) throw new ApiError(400, 'invalid_request', `phone: "${raw}" is not a valid phone number in ${site.country}`);
    return phone;
  }

  @Put('blocklist/:phone')
  @HttpCode(200)
  async block(
    @Param('siteId', siteIdPipe) siteId: string,
    @Param('phone') raw: string,
    @Body(new ZodValidationPipe(blockBody)) body: z.infer<typeof blockBody>,
  ): Promise<object> {
    const entry = await this.screening.block(siteId, this.phone(siteId, raw), body.reason);
    return { siteId, ...entry, blockedAt: new Date(entry.blockedAtMs).toISOString() };
  }

  @Delete('blocklist/:phone')
  @HttpCode(200)
  async unblock(@Param('siteId', siteIdPipe) siteId: string, @Param('phone') raw: string): Promise<object> {
    const phone = this.phone(siteId, raw);
    if (!this.screening.blocked(siteId, phone)) throw new ApiError(404, 'not_blocked', `${phone} is not on the blocklist of ${siteId}`);
    await this.screening.unblock(siteId, phone);
    return { siteId, phone, blocked: false };
  }

  @Get('blocklist')
  list(@Param('siteId', siteIdPipe) siteId: string): object {
    if (!this.sites.get(siteId)) throw new ApiError(404, 'unknown_site', `site ${siteId} is not configured`);
    return { siteId, entries: this.screening.entries(siteId) };
  }

  /** Screening counters of this instance since it started. */
  @Get('stats')
  stats(@Param('siteId', siteIdPipe) siteId: string): object {
    return { siteId, ...this.screening.counts(siteId) };
  }
}
