import { Body, Controller, Get, Headers, HttpCode, Param, Put, Res, UseGuards } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import type { calltrack } from '@calltrack/contracts';
import { AdminTokenGuard, ApiError, siteIdPipe, ZodValidationPipe } from '@calltrack/service-kit';
import { siteBody, type RuleBody, type SiteBody } from './admin-schemas.js';
import { PoolService } from './pool.service.js';
import { replaceSite, type WantedNumber } from './site-config.js';
import { e164, etagOf, SiteConfigService } from './site-config.service.js';

type SiteConfigured = calltrack.events.v1.ISiteConfigured;

/** Sites: their own numbers, pool, static numbers, rules and promo-code settings, as one document. */
@Controller('v1/admin/sites')
@UseGuards(AdminTokenGuard)
export class SitesAdminController {
  constructor(
    private readonly pools: PoolService,
    private readonly configs: SiteConfigService,
  ) {}

  /** Creates or replaces a site's configuration. Numbers left out are retired, never deleted. */
  @Put(':siteId')
  @HttpCode(200)
  async put(
    @Param('siteId', siteIdPipe) siteId: string,
    @Body(new ZodValidationPipe(siteBody)) body: SiteBody,
    @Headers('if-match') ifMatch: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<object> {
    const n = (raw: string, field: string) => e164(raw, body.country, field);
    const defaultNumber = n(body.defaultNumber, 'defaultNumber');
    const otherSiteNumbers = body.otherSiteNumbers.map((x, i) => n(x, `otherSiteNumbers.${i}`));
    if (body.shortagePolicy === 'overflow_number' && !body.overflowNumber) {
      throw new ApiError(400, 'invalid_request', 'overflowNumber: required with shortagePolicy "overflow_number"');
    }
    const wanted: WantedNumber[] = [
      ...body.poolNumbers.map((x, i) => ({ number: n(x, `poolNumbers.${i}`), usage: 'pool' as const })),
      ...body.staticNumbers.map(({ number, ...source }, i) => ({ number: n(number, `staticNumbers.${i}.number`), usage: 'static' as const, source })),
      ...(body.overflowNumber ? [{ number: n(body.overflowNumber, 'overflowNumber'), usage: 'overflow' as const }] : []),
    ];
    const all = [defaultNumber, ...otherSiteNumbers, ...wanted.map((w) => w.number)];
    const dup = all.find((x, i) => all.indexOf(x) !== i);
    if (dup)
      throw new ApiError(400, 'invalid_request', `number ${dup} appears more than once (default, other site, pool, static and overflow numbers must differ)`);
    const rules = checkRules(body.rules, body.country, new Set(body.staticNumbers.map((s) => n(s.number, 'staticNumbers'))));
    const config = await this.configs.change(siteId, ifMatch, (previous) =>
      replaceSite(
        siteId,
        previous,
        {
          name: body.name,
          country: body.country,
          timeZone: body.timeZone,
          defaultNumber,
          otherSiteNumbers,
          leaseTtlSeconds: body.leaseTtlSeconds,
          shortagePolicy: body.shortagePolicy,
          overflowNumber: '',
          quarantineSeconds: body.quarantineSeconds,
          rules,
          promoCodes: body.promoCodes,
        },
        wanted,
        this.configs.owners,
        Date.now(),
      ),
    );
    reply.header('etag', etagOf(config));
    return siteView(siteId, config);
  }

  @Get(':siteId')
  get(@Param('siteId', siteIdPipe) siteId: string, @Res({ passthrough: true }) reply: FastifyReply): object {
    const config = this.configs.require(siteId);
    reply.header('etag', etagOf(config));
    return siteView(siteId, config);
  }

  /** Live state of a site's pool: size, utilisation, shortages, peak demand, recommended size and the live leases. */
  @Get(':siteId/pool')
  pool(@Param('siteId', siteIdPipe) siteId: string): object {
    const stats = this.pools.siteStats(siteId);
    if (!stats) throw new ApiError(404, 'unknown_site', `site ${siteId} is not configured`);
    return { siteId, ...stats, leases: this.pools.leasesOf(siteId) };
  }
}

/** Rules with ids, static numbers in E.164 that are active static numbers of the site. */
export function checkRules(rules: RuleBody[], country: string, staticNumbers: ReadonlySet<string>): calltrack.events.v1.ITrackingRule[] {
  const ids = new Set<string>();
  return rules.map((rule, i) => {
    const id = rule.id ?? `rule-${i + 1}`;
    if (ids.has(id)) throw new ApiError(400, 'invalid_request', `rules.${i}.id: "${id}" is used by another rule`);
    ids.add(id);
    let staticNumber = '';
    if (rule.method === 'static') {
      if (!rule.staticNumber) throw new ApiError(400, 'invalid_request', `rules.${i}.staticNumber: required with method "static"`);
      staticNumber = e164(rule.staticNumber, country, `rules.${i}.staticNumber`);
      if (!staticNumbers.has(staticNumber))
        throw new ApiError(400, 'invalid_request', `rules.${i}.staticNumber: ${staticNumber} is not an active static number of the site`);
    } else if (rule.staticNumber) {
      throw new ApiError(400, 'invalid_request', `rules.${i}.staticNumber: only with method "static"`);
    }
    return { ...rule, id, staticNumber };
  });
}

/** The configuration as the admin API shows it. */
export function siteView(siteId: string, c: SiteConfigured): object {
  return {
    siteId,
    revision: Number(c.revision ?? 0),
    updatedAt: c.updatedAtMs ? new Date(Number(c.updatedAtMs)).toISOString() : undefined,
    name: c.name,
    country: c.country,
    timeZone: c.timeZone,
    defaultNumber: c.defaultNumber,
    otherSiteNumbers: c.otherSiteNumbers ?? [],
    poolNumbers: c.poolNumbers ?? [],
    leaseTtlSeconds: c.leaseTtlSeconds,
    shortagePolicy: c.shortagePolicy || 'default_number',
    overflowNumber: c.overflowNumber || undefined,
    staticNumbers: (c.staticNumbers ?? []).map((s) => ({
      number: s.number,
      channel: s.channel || undefined,
      utmSource: s.utmSource,
      utmMedium: s.utmMedium,
      utmCampaign: s.utmCampaign,
      label: s.label,
      status: s.status || 'active',
    })),
    quarantineSeconds: c.quarantineSeconds ?? 0,
    rules: c.rules ?? [],
    promoCodes: c.promoCodes ?? {},
  };
}
