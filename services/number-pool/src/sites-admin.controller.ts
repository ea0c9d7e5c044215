import { Body, Controller, Get, HttpCode, Param, Put, UseGuards } from '@nestjs/common';
import { isSupportedCountry, toE164 } from '@calltrack/phone';
import { AdminTokenGuard, ApiError, siteIdPipe, ZodValidationPipe } from '@calltrack/service-kit';
import { z } from 'zod';
import { SHORTAGE_POLICIES } from './pool-state.js';
import { PoolService } from './pool.service.js';


const siteBody = z
  .object({
    name: z.string().min(1).max(200),
    country: z.string().refine(isSupportedCountry, 'not a supported ISO 3166-1 alpha-2 country code'),
    timeZone: z.string().refine((tz) => {
      try {
        new Intl.DateTimeFormat('en', { timeZone: tz });
        return true;
      } catch {
        return false;
      }
    }, 'not an IANA time zone'),
    defaultNumber: z.string().min(3).max(40),
    poolNumbers: z.array(z.string().min(3).max(40)).max(10_000).default([]),
    leaseTtlSeconds: z.number().int().min(60).max(86_400).default(900),
    shortagePolicy: z.enum(SHORTAGE_POLICIES).default('default_number'),
    overflowNumber: z.string().min(3).max(40).optional(),
    staticNumbers: z
      .array(
        z.object({
          number: z.string().min(3).max(40),
          utmSource: z.string().max(200).default(''),
          utmMedium: z.string().max(200).default(''),
          utmCampaign: z.string().max(200).default(''),
          label: z.string().max(200).default(''),
        }),
      )
      .max(10_000)
      .default([]),
  })
  .strict();

type SiteBody = z.infer<typeof siteBody>;

@Controller('v1/admin/sites')
@UseGuards(AdminTokenGuard)
export class SitesAdminController {
  constructor(private readonly pools: PoolService) {}

  /** Creates or replaces a site's configuration: default number, dynamic pool, static numbers. */
  @Put(':siteId')
  @HttpCode(200)
  async put(
    @Param('siteId', siteIdPipe) siteId: string,
    @Body(new ZodValidationPipe(siteBody)) body: SiteBody,
  ): Promise<object> {
    const normalise = (raw: string, field: string): string => {
      const e164 = toE164(raw, body.country);
      if (!e164) throw new ApiError(400, 'invalid_request', `${field}: "${raw}" is not a valid phone number in ${body.country}`);
      return e164;
    };
    const defaultNumber = normalise(body.defaultNumber, 'defaultNumber');
    const poolNumbers = body.poolNumbers.map((n, i) => normalise(n, `poolNumbers.${i}`));
    const staticNumbers = body.staticNumbers.map((s, i) => ({ ...s, number: normalise(s.number, `staticNumbers.${i}.number`) }));
    if (body.shortagePolicy === 'overflow_number' && !body.overflowNumber) {
      throw new ApiError(400, 'invalid_request', 'overflowNumber: required with shortagePolicy "overflow_number"');
    }
    const overflowNumber = body.overflowNumber ? normalise(body.overflowNumber, 'overflowNumber') : '';
    const all = [defaultNumber, ...poolNumbers, ...staticNumbers.map((s) => s.number), ...(overflowNumber ? [overflowNumber] : [])];
    const dup = all.find((n, i) => all.indexOf(n) !== i);
    if (dup) throw new ApiError(400, 'invalid_request', `number ${dup} appears more than once (default, pool and static numbers must differ)`);
    const config = {
      name: body.name,
      country: body.country,
      timeZone: body.timeZone,
      defaultNumber,
      poolNumbers,
      leaseTtlSeconds: body.leaseTtlSeconds,
      staticNumbers,
      shortagePolicy: body.shortagePolicy,
      overflowNumber,
    };
    await this.pools.configureSite(siteId, config);
    return { siteId, ...config };
  }

  /** Live state of a site's pool: size, utilisation, shortages, peak demand, recommended size and the live leases. */
  @Get(':siteId/pool')
  pool(@Param('siteId', siteIdPipe) siteId: string): object {
    const stats = this.pools.siteStats(siteId);
    if (!stats) throw new ApiError(404, 'unknown_site', `site ${siteId} is not configured`);
    return { siteId, ...stats, leases: this.pools.leasesOf(siteId) };
  }
}
