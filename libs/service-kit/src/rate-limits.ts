import { Inject, Injectable, mixin, type CanActivate, type ExecutionContext, type Type } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { SITE_ID_PATTERN } from '@calltrack/contracts';
import { ApiError } from './http-errors.js';
import { RefusalLog } from './refusal-log.js';
import { CONFIG } from './tokens.js';

/** A budget: at most `points` requests per `seconds`. */
export interface RateBudget {
  points: number;
  seconds: number;
}

/** The limits of one group of routes (public sessions, webhooks, enquiries, admin). */
export interface RateLimitPolicy {
  /** Names the counters (routes of one scope share them) and the refusals' scope in logs and counts. */
  scope: string;
  perAddress: RateBudget;
  perSite: RateBudget;
}

interface Limiters {
  perAddress: RateLimiterMemory;
  perSite: RateLimiterMemory;
}

/**
 * The one rate-limit mechanism of the platform: per client address (one browser,
 * bot or script hammering an endpoint) and per site (one site's surge or a flood
 * aimed at it cannot starve the others), answered 429 with Retry-After and counted
 * in the RefusalLog. Counters live in this instance's memory: behind N instances
 * the effective limits are N times the configured ones. The client address is
 * Fastify's request.ip, so X-Forwarded-For counts only from trusted proxies
 * (HTTP_TRUST_PROXY).
 */
@Injectable()
export class RateLimits {
  private readonly limiters = new Map<string, Limiters>();

  constructor(private readonly refusals: RefusalLog) {}

  private limitersOf(policy: RateLimitPolicy): Limiters {
    let l = this.limiters.get(policy.scope);
    if (!l) {
      l = {
        perAddress: new RateLimiterMemory({ keyPrefix: `${policy.scope}:ip`, points: policy.perAddress.points, duration: policy.perAddress.seconds }),
        perSite: new RateLimiterMemory({ keyPrefix: `${policy.scope}:site`, points: policy.perSite.points, duration: policy.perSite.seconds }),
      };
      this.limiters.set(policy.scope, l);
    }
    return l;
  }

  /** Takes one request from the budgets; throws the 429 (Retry-After set on the reply) when one is spent. */
  async consume(policy: RateLimitPolicy, request: FastifyRequest, reply: FastifyReply, siteId: string | undefined): Promise<void> {
    const limiters = this.limitersOf(policy);
    // Only a well-formed id names a site: a made-up string must not create counters or log keys.
    const site = siteId !== undefined && SITE_ID_PATTERN.test(siteId) ? siteId : undefined;
    try {
      await limiters.perAddress.consume(request.ip);
    } catch (err) {
      this.refuse(policy, site, 'rate_limited_address', request, reply, err, `too many requests from ${request.ip}`);
    }
    if (site === undefined) return;
    try {
      await limiters.perSite.consume(site);
    } catch (err) {
      this.refuse(policy, site, 'rate_limited_site', request, reply, err, `too many requests for site ${site}`);
    }
  }

  private refuse(
    policy: RateLimitPolicy,
    siteId: string | undefined,
    reason: string,
    request: FastifyRequest,
    reply: FastifyReply,
    err: unknown,
    message: string,
  ): never {
    if (!(err instanceof RateLimiterRes)) throw err;
    const retryAfter = Math.max(1, Math.ceil(err.msBeforeNext / 1000));
    this.refusals.refused(policy.scope, siteId, reason, { event: `${policy.scope}_refused`, status: 429, ip: request.ip, route: request.routeOptions.url });
    void reply.header('retry-after', String(retryAfter));
    throw new ApiError(429, 'rate_limited', `${message}; retry in ${retryAfter} s`);
  }
}

/** The site a request is about: the `:siteId` route parameter, else a `siteId` in the JSON body. */
export function siteOfRequest(request: FastifyRequest): string | undefined {
  const fromParams = (request.params as { siteId?: unknown } | undefined)?.siteId;
  if (typeof fromParams === 'string') return fromParams;
  // The body is validated after guards run; only a string can name a site.
  const fromBody = (request.body as { siteId?: unknown } | undefined)?.siteId;
  return typeof fromBody === 'string' ? fromBody : undefined;
}

/**
 * A guard limiting the routes it is put on with the policy read from the
 * service's configuration: `@UseGuards(RateLimitGuard((c: MyConfig) => ({ scope: 'webhooks', ... })))`.
 */
export function RateLimitGuard<C>(policyOf: (config: C) => RateLimitPolicy): Type<CanActivate> {
  @Injectable()
  class PolicyRateLimitGuard implements CanActivate {
    private readonly policy: RateLimitPolicy;

    constructor(
      private readonly limits: RateLimits,
      @Inject(CONFIG) config: C,
    ) {
      this.policy = policyOf(config);
    }

    async canActivate(context: ExecutionContext): Promise<boolean> {
      const http = context.switchToHttp();
      const request = http.getRequest<FastifyRequest>();
      await this.limits.consume(this.policy, request, http.getResponse<FastifyReply>(), siteOfRequest(request));
      return true;
    }
  }
  return mixin(PolicyRateLimitGuard);
}
