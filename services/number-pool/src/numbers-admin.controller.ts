import { Body, Controller, Get, Headers, HttpCode, Param, Post, Put, Res, UseGuards } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import type { calltrack } from '@calltrack/contracts';
import { AdminTokenGuard, siteIdPipe, ZodValidationPipe } from '@calltrack/service-kit';
import { z } from 'zod';
import { addNumberBody, retireNumberBody, staticSourceBody, type AddNumberBody, type StaticSourceBody } from './admin-schemas.js';
import { PoolService } from './pool.service.js';
import { addNumber, bindSource, inventoryOf, quarantineNumber, retireNumber } from './site-config.js';
import { e164, etagOf, SiteConfigService } from './site-config.service.js';

const numberParam = new ZodValidationPipe(z.string().min(3).max(40), 'number');

/** The number inventory of a site: pool and static numbers with their state; quarantine, retire, replace, bind. */
@Controller('v1/admin/sites/:siteId/numbers')
@UseGuards(AdminTokenGuard)
export class NumbersAdminController {
  constructor(
    private readonly pools: PoolService,
    private readonly configs: SiteConfigService,
  ) {}

  @Get()
  list(@Param('siteId', siteIdPipe) siteId: string, @Res({ passthrough: true }) reply: FastifyReply): object {
    const config = this.configs.require(siteId);
    reply.header('etag', etagOf(config));
    const states = new Map((this.pools.numberStates(siteId) ?? []).map((s) => [s.number, s]));
    const inventory: calltrack.events.v1.IInventoryNumber[] = inventoryOf(config);
    return {
      siteId,
      revision: Number(config.revision ?? 0),
      numbers: inventory.map((n) => {
        const s = states.get(n.number ?? '');
        const ms = (v: unknown) => (Number(v ?? 0) > 0 ? new Date(Number(v)).toISOString() : undefined);
        return {
          number: n.number,
          usage: n.usage,
          state: n.status === 'retired' ? 'retired' : (s?.state ?? 'available'),
          leaseId: s?.leaseId,
          source: n.usage === 'static' ? n.source : undefined,
          addedAt: ms(n.addedAtMs),
          quarantinedFrom: s?.state === 'quarantined' ? ms(n.quarantinedFromMs) : undefined,
          quarantineReason: s?.state === 'quarantined' ? n.quarantineReason : undefined,
          quarantinedUntil: s?.state === 'quarantined' ? ms(s.quarantinedUntilMs) : undefined,
          lastCallAt: ms(s?.lastCallAtMs),
          movedFromSite: n.movedFromSite || undefined,
          retiredAt: ms(n.retiredAtMs),
          replacedBy: n.replacedBy || undefined,
        };
      }),
    };
  }

  @Post()
  @HttpCode(201)
  async add(
    @Param('siteId', siteIdPipe) siteId: string,
    @Body(new ZodValidationPipe(addNumberBody)) body: AddNumberBody,
    @Headers('if-match') ifMatch: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<object> {
    const site = this.configs.require(siteId);
    const number = e164(body.number, site.country ?? '', 'number');
    const config = await this.configs.change(siteId, ifMatch, (previous) =>
      addNumber(
        siteId,
        previous!,
        { number, usage: body.usage, skipQuarantine: body.skipQuarantine, ...(body.source ? { source: body.source } : {}) },
        this.configs.owners,
        Date.now(),
      ),
    );
    reply.header('etag', etagOf(config));
    return { siteId, revision: Number(config.revision), number: config.numbers?.find((n) => n.number === number) };
  }

  @Post(':number/quarantine')
  @HttpCode(200)
  async quarantine(
    @Param('siteId', siteIdPipe) siteId: string,
    @Param('number', numberParam) raw: string,
    @Headers('if-match') ifMatch: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<object> {
    const number = e164(raw, this.configs.require(siteId).country ?? '', 'number');
    const config = await this.configs.change(siteId, ifMatch, (previous) => quarantineNumber(siteId, previous!, number, Date.now()));
    reply.header('etag', etagOf(config));
    return { siteId, revision: Number(config.revision), number: config.numbers?.find((n) => n.number === number) };
  }

  @Post(':number/retire')
  @HttpCode(200)
  async retire(
    @Param('siteId', siteIdPipe) siteId: string,
    @Param('number', numberParam) raw: string,
    @Body(new ZodValidationPipe(retireNumberBody)) body: z.infer<typeof retireNumberBody>,
    @Headers('if-match') ifMatch: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<object> {
    const country = this.configs.require(siteId).country ?? '';
    const number = e164(raw, country, 'number');
    const replacedBy = body.replacedBy ? e164(body.replacedBy, country, 'replacedBy') : undefined;
    const config = await this.configs.change(siteId, ifMatch, (previous) =>
      retireNumber(siteId, previous!, number, replacedBy, this.configs.owners, Date.now()),
    );
    reply.header('etag', etagOf(config));
    return {
      siteId,
      revision: Number(config.revision),
      number: config.numbers?.find((n) => n.number === number),
      replacedBy: replacedBy ? config.numbers?.find((n) => n.number === replacedBy) : undefined,
    };
  }

  /** Binds a static number to its source: a channel, a campaign (UTM tags) or an offline medium. */
  @Put(':number/source')
  @HttpCode(200)
  async source(
    @Param('siteId', siteIdPipe) siteId: string,
    @Param('number', numberParam) raw: string,
    @Body(new ZodValidationPipe(staticSourceBody)) body: StaticSourceBody,
    @Headers('if-match') ifMatch: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<object> {
    const number = e164(raw, this.configs.require(siteId).country ?? '', 'number');
    const config = await this.configs.change(siteId, ifMatch, (previous) => bindSource(siteId, previous!, number, body, Date.now()));
    reply.header('etag', etagOf(config));
    return { siteId, revision: Number(config.revision), number: config.numbers?.find((n) => n.number === number) };
  }
}
