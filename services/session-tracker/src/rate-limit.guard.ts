import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { ApiError, CONFIG } from '@calltrack/service-kit';
import type { SessionTrackerConfig } from './config.js';

/**
 * Public endpoints are limited per client address (one browser or bot hammering the
 * API) and per site (a site's traffic cannot starve the others). Counters live in
 * this instance's memory: behind N instances the effective limits are N times these.
 */
@Injectable()
export class PublicRateLimitGuard implements CanActivate {
  private readonly perAddress: RateLimiterMemory;
  private readonly perSite: RateLimiterMemory;

  constructor(@Inject(CONFIG) config: SessionTrackerConfig) {
    this.perAddress = new RateLimiterMemory({ keyPrefix: 'ip', points: config.RATE_LIMIT_PER_ADDRESS_PER_MINUTE, duration: 60 });
    this.perSite = new RateLimiterMemory({ keyPrefix: 'site', points: config.RATE_LIMIT_PER_SITE_PER_SECOND, duration: 1 });
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const http = context.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    const siteId = (request.body as { siteId?: unknown } | undefined)?.siteId;
    try {
      await this.perAddress.consume(request.ip);
    } catch (err) {
      this.refuse(reply, err, `too many requests from ${request.ip}`);
    }
    // The body is validated after guards run; an id that is not a string cannot name a site.
    if (typeof siteId === 'string' && siteId.length <= 64) {
      try {
        await this.perSite.consume(siteId);
      } catch (err) {
        this.refuse(reply, err, `too many requests for site ${siteId}`);
      }
    }
    return true;
  }

  private refuse(reply: FastifyReply, err: unknown, message: string): never {
    if (!(err instanceof RateLimiterRes)) throw err;
    const retryAfter = Math.max(1, Math.ceil(err.msBeforeNext / 1000));
    void reply.header('retry-after', String(retryAfter));
    throw new ApiError(429, 'rate_limited', `${message}; retry in ${retryAfter} s`);
  }
}
