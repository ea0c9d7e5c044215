import { Controller, HttpCode, Inject, Param, Post, Req, type RawBodyRequest } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { ApiError, CONFIG } from '@calltrack/service-kit';
import type { TelephonyIngestConfig } from '../../config.js';
import { formObject, formPairs } from '../shared/form-body.js';
import { ProviderWebhookSupport, type ProviderWebhookResult } from '../shared/provider-webhook-support.js';
import { requestedUrl } from './public-url.js';
import { mapTwilioStatusCallback } from './twilio-mapping.js';
import { TWILIO_SIGNATURE_HEADER, verifyTwilioSignature } from './twilio-signature.js';

/** Twilio Voice status callbacks (docs/telephony-providers.md#twilio). */
@Controller('v1/webhooks/twilio')
export class TwilioWebhookController {
  constructor(
    private readonly support: ProviderWebhookSupport,
    @Inject(CONFIG) private readonly config: TelephonyIngestConfig,
  ) {}

  @Post(':siteId')
  @HttpCode(200)
  async statusCallback(@Param('siteId') siteId: string, @Req() req: RawBodyRequest<FastifyRequest>): Promise<ProviderWebhookResult> {
    this.support.ensureReady();
    this.support.requireMediaType(req, 'application/x-www-form-urlencoded');
    const { site, credentials } = this.support.siteWithCredentials(siteId, 'twilio', req);
    if (!req.rawBody) throw new ApiError(400, 'invalid_request', 'request body is missing');

    const pairs = formPairs(req.rawBody);
    const url = requestedUrl(req, this.config.PUBLIC_BASE_URL);
    const check = verifyTwilioSignature({ authToken: credentials.authToken, url, params: pairs, signature: req.headers[TWILIO_SIGNATURE_HEADER] });
    if (!check.ok) this.support.signatureRefused(siteId, 'twilio', check.reason, req, `X-Twilio-Signature over ${url}`);

    const mapping = mapTwilioStatusCallback(formObject(pairs), site.country, siteId, Date.now());
    return this.support.deliver(siteId, 'twilio', site, mapping, req);
  }
}
