import { Body, Controller, Get, Headers, HttpCode, Param, Put, Res, UseGuards } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { AdminTokenGuard, siteIdPipe, ZodValidationPipe } from '@calltrack/service-kit';
import type { z } from 'zod';
import { rulesBody } from './admin-schemas.js';
import { replaceRules } from './site-config.js';
import { etagOf, SiteConfigService } from './site-config.service.js';
import { checkRules } from './sites-admin.controller.js';

/** A site's ordered tracking rules: which visits get a dynamic number, a static one, a promo code or the default number. */
@Controller('v1/admin/sites/:siteId/rules')
@UseGuards(AdminTokenGuard)
export class RulesAdminController {
  constructor(private readonly configs: SiteConfigService) {}

  @Get()
  get(@Param('siteId', siteIdPipe) siteId: string, @Res({ passthrough: true }) reply: FastifyReply): object {
    const config = this.configs.require(siteId);
    reply.header('etag', etagOf(config));
    return { siteId, revision: Number(config.revision ?? 0), rules: config.rules ?? [] };
  }

  @Put()
  @HttpCode(200)
  async put(
    @Param('siteId', siteIdPipe) siteId: string,
    @Body(new ZodValidationPipe(rulesBody)) body: z.infer<typeof rulesBody>,
    @Headers('if-match') ifMatch: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<object> {
    const site = this.configs.require(siteId);
    const statics = new Set((site.staticNumbers ?? []).filter((s) => s.status !== 'retired').map((s) => s.number ?? ''));
    const rules = checkRules(body.rules, site.country ?? '', statics);
    const config = await this.configs.change(siteId, ifMatch, (previous) => replaceRules(previous!, rules, Date.now()));
    reply.header('etag', etagOf(config));
    return { siteId, revision: Number(config.revision), rules: config.rules ?? [] };
  }
}
