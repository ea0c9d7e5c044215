import { Controller, Get, Headers, Inject, Param, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { numberFormatsOf } from '@calltrack/phone';
import { ApiError, CONFIG, SiteDirectory, siteIdPipe } from '@calltrack/service-kit';
import type { SessionTrackerConfig } from './config.js';

// Built by scripts/build-tracker.mjs next to this file's compiled output.
const TRACKER = readFileSync(new URL('./tracker.min.js', import.meta.url), 'utf8');

interface ServedScript {
  revision: string;
  etag: string;
  body: Buffer;
  gzipped: Buffer;
}

/**
 * The tracker tag of one site: the bundled script plus the site's settings (its
 * own numbers, country formats, heartbeat interval, lease tail). Cached by
 * browsers for a few minutes, revalidated by ETag, gzipped when accepted.
 */
@Controller('v1/sites')
export class TrackerScriptController {
  private readonly cache = new Map<string, ServedScript>();

  constructor(
    private readonly sites: SiteDirectory,
    @Inject(CONFIG) private readonly config: SessionTrackerConfig,
  ) {}

  @Get(':siteId/tracker.js')
  script(
    @Param('siteId', siteIdPipe) siteId: string,
    @Headers('accept-encoding') acceptEncoding: string | undefined,
    @Headers('if-none-match') ifNoneMatch: string | undefined,
    @Res() reply: FastifyReply,
  ): void {
    const site = this.sites.get(siteId);
    if (!site) throw new ApiError(404, 'unknown_site', `site ${siteId} is not configured`);
    const script = this.scriptOf(siteId, site);
    reply
      .header('content-type', 'application/javascript; charset=utf-8')
      .header('cache-control', `public, max-age=${this.config.TRACKER_CACHE_SECONDS}`)
      .header('etag', script.etag)
      .header('vary', 'accept-encoding')
      .header('access-control-allow-origin', '*')
      .header('cross-origin-resource-policy', 'cross-origin')
      .header('x-content-type-options', 'nosniff');
    if (
      ifNoneMatch &&
      (ifNoneMatch.trim() === '*' || ifNoneMatch.split(',').some((tag) => tag.trim().replace(/^W\//, '') === script.etag.replace(/^W\//, '')))
    ) {
      reply.status(304).send();
      return;
    }
    if (/\bgzip\b/.test(acceptEncoding ?? '')) reply.header('content-encoding', 'gzip').send(script.gzipped);
    else reply.send(script.body);
  }

  private scriptOf(siteId: string, site: NonNullable<ReturnType<SiteDirectory['get']>>): ServedScript {
    const revision = `${String(site.revision ?? 0)}:${site.defaultNumber}:${(site.otherSiteNumbers ?? []).join(',')}`;
    const cached = this.cache.get(siteId);
    if (cached?.revision === revision) return cached;
    const formats = numberFormatsOf(site.defaultNumber, site.country);
    const settings = {
      s: siteId,
      n: [site.defaultNumber, ...(site.otherSiteNumbers ?? [])].map((n) => n.replace(/\D/g, '')),
      cc: formats.callingCode,
      tp: formats.nationalPrefix,
      hb: this.config.TRACKER_HEARTBEAT_SECONDS,
      ttl: site.leaseTtlSeconds || 900,
    };
    // The API is the script's own origin unless the tag names another (data-api); the tag can
    // shorten the heartbeat (tests, very short visits) with data-heartbeat. currentScript is
    // null when a loader runs the script later: the tag is then found by its src.
    const tagSelector = JSON.stringify(`script[src*="/sites/${siteId}/tracker.js"]`);
    const text =
      `(function(){${TRACKER};var s=document.currentScript||document.querySelector(${tagSelector}),c=${JSON.stringify(settings)},` +
      `a=s&&s.getAttribute("data-api")||(s?new URL(s.src).origin:"");` +
      `if(s&&+s.getAttribute("data-heartbeat")>0)c.hb=Math.max(1,+s.getAttribute("data-heartbeat"));try{__ct.track(c,a)}catch(e){}})();\n`;
    const body = Buffer.from(text, 'utf8');
    // Weak: the gzipped and the plain bytes are one script.
    const served = { revision, etag: `W/"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`, body, gzipped: gzipSync(body, { level: 9 }) };
    this.cache.set(siteId, served);
    return served;
  }
}
