import { Body, Controller, Delete, Get, HttpCode, Param, Put, UseGuards, type PipeTransform } from '@nestjs/common';
import { toE164 } from '@calltrack/phone';
import { AdminTokenGuard, ApiError, SiteDirectory, siteIdPipe, ZodValidationPipe, type SiteConfig } from '@calltrack/service-kit';
import { z } from 'zod';
import type { BlockEntry } from './blocklist-state.js';
import { ScreeningService } from './screening.service.js';

const blockBody = z.object({ reason: z.string().max(500).default('') }).strict();

// The reason is optional, so a PUT without any body blocks with no reason.
const emptyBodyAsObject: PipeTransform = { transform: (value: unknown) => value ?? {} };

const view = (entry: BlockEntry) => ({ ...entry, blockedAt: new Date(entry.blockedAtMs).toISOString() });

@Controller('v1/admin/sites/:siteId')
@UseGuards(AdminTokenGuard)
export class BlocklistAdminController {
  constructor(
    private readonly screening: ScreeningService,
    private readonly sites: SiteDirectory,
  ) {}

  private site(siteId: string): SiteConfig {
    const site = this.sites.get(siteId);
    if (!site) throw new ApiError(404, 'unknown_site', `site ${siteId} is not configured`);
    return site;
  }

  // Blocks are stored in E.164, normalised with the site's country like the callers of its calls.
  private phone(siteId: string, raw: string): string {
    const { country } = this.site(siteId);
    const phone = toE164(raw, country);
    if (!phone) throw new ApiError(400, 'invalid_request', `phone: "${raw.slice(0, 64)}" is not a valid phone number in ${country}`);
    return phone;
  }

  @Put('blocklist/:phone')
  @HttpCode(200)
  async block(
    @Param('siteId', siteIdPipe) siteId: string,
    @Param('phone') raw: string,
    @Body(emptyBodyAsObject, new ZodValidationPipe(blockBody)) body: z.infer<typeof blockBody>,
  ): Promise<object> {
    const entry = await this.screening.block(siteId, this.phone(siteId, raw), body.reason);
    return { siteId, blocked: true, ...view(entry) };
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
    this.site(siteId);
    return { siteId, entries: this.screening.entries(siteId).map(view) };
  }

  /** Screening counters of this instance since it started (not durable, not summed over instances). */
  @Get('stats')
  stats(@Param('siteId', siteIdPipe) siteId: string): object {
    this.site(siteId);
    return { siteId, ...this.screening.counts(siteId) };
  }
}
