import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CONFIG, RateLimits, siteOfRequest, type RateLimitPolicy } from '@calltrack/service-kit';
import type { TelephonyIngestConfig } from '../../config.js';

/**
 * Rate limits of the unauthenticated-until-verified routes: every provider webhook
 * (/v1/webhooks/…) and the enquiry API, per client address and per site, checked
 * before the signature so that a flood of forged requests costs no HMAC work.
 * Installed once for the module (APP_GUARD) so the adapters need no decorator.
 */
@Injectable()
export class WebhookRateLimitGuard implements CanActivate {
  private readonly webhooks: RateLimitPolicy;
  private readonly enquiries: RateLimitPolicy;

  constructor(
    private readonly limits: RateLimits,
    @Inject(CONFIG) config: TelephonyIngestConfig,
  ) {
    this.webhooks = {
      scope: 'webhooks',
      perAddress: { points: config.WEBHOOK_RATE_LIMIT_PER_ADDRESS_PER_MINUTE, seconds: 60 },
      perSite: { points: config.WEBHOOK_RATE_LIMIT_PER_SITE_PER_MINUTE, seconds: 60 },
    };
    this.enquiries = {
      scope: 'enquiries',
      perAddress: { points: config.ENQUIRY_RATE_LIMIT_PER_ADDRESS_PER_MINUTE, seconds: 60 },
      perSite: { points: config.ENQUIRY_RATE_LIMIT_PER_SITE_PER_MINUTE, seconds: 60 },
    };
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const http = context.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const route = request.routeOptions.url ?? '';
    const policy = route.startsWith('/v1/webhooks/') ? this.webhooks : route === '/v1/sites/:siteId/enquiries' ? this.enquiries : undefined;
    if (policy) await this.limits.consume(policy, request, http.getResponse<FastifyReply>(), siteOfRequest(request));
    return true;
  }
}
