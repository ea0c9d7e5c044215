import { Controller, HttpCode, Param, Post, Req, type RawBodyRequest } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { ApiError } from '@calltrack/service-kit';
import { formObject, formPairs } from '../shared/form-body.js';
import { mapMangoCallEvent, mapMangoSummary } from './mango-mapping.js';
import { verifyMangoSignature } from './mango-signature.js';
import type { ProviderEventMapping } from '../shared/provider-event-mapping.js';
import { ProviderWebhookSupport, type ProviderWebhookResult } from '../shared/provider-webhook-support.js';

/**
 * Mango Office VPBX realtime events (docs/telephony-providers.md#mango-office).
 * Mango posts to `<the URL set in its API settings>/events/<kind>`; call and
 * summary are read, every other kind (recording, dtmf, sms…) is verified and
 * acknowledged.
 */
@Controller('v1/webhooks/mango')
export class MangoWebhookController {
  constructor(private readonly support: ProviderWebhookSupport) {}

  @Post(':siteId/events/:event')
  @HttpCode(200)
  event(@Param('siteId') siteId: string, @Param('event') event: string, @Req() req: RawBodyRequest<FastifyRequest>): Promise<ProviderWebhookResult> {
    return this.receive(siteId, event, req);
  }

  // Two-segment kinds such as /events/record/added.
  @Post(':siteId/events/:group/:event')
  @HttpCode(200)
  nestedEvent(
    @Param('siteId') siteId: string,
    @Param('group') group: string,
    @Param('event') event: string,
    @Req() req: RawBodyRequest<FastifyRequest>,
  ): Promise<ProviderWebhookResult> {
    return this.receive(siteId, `${group}/${event}`, req);
  }

  private async receive(siteId: string, event: string, req: RawBodyRequest<FastifyRequest>): Promise<ProviderWebhookResult> {
    this.support.ensureReady();
    this.support.requireMediaType(req, 'application/x-www-form-urlencoded');
    const { site, credentials } = this.support.siteWithCredentials(siteId, 'mango', req);
    this.support.requireAllowedSource(siteId, 'mango', req);
    if (!req.rawBody) throw new ApiError(400, 'invalid_request', 'request body is missing');

    const form = formObject(formPairs(req.rawBody));
    const check = verifyMangoSignature({ apiKey: credentials.apiKey, apiSalt: credentials.apiSalt, form });
    if (!check.ok) this.support.signatureRefused(siteId, 'mango', check.reason, req, 'vpbx_api_key and sign');

    let mapping: ProviderEventMapping;
    if (event === 'call') mapping = mapMangoCallEvent(check.json, site.country, siteId);
    else if (event === 'summary') mapping = mapMangoSummary(check.json, site.country, siteId);
    else mapping = { kind: 'ignored', reason: `events/${event} says nothing about a call's state` };
    return this.support.deliver(siteId, 'mango', site, mapping, req);
  }
}
