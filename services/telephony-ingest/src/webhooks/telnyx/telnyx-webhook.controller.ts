import { Controller, HttpCode, Inject, Param, Post, Req, type RawBodyRequest } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { ApiError, CONFIG } from '@calltrack/service-kit';
import type { TelephonyIngestConfig } from '../../config.js';
import { telnyxPublicKey } from '../../sites/provider-credentials.js';
import { ProviderWebhookSupport, type ProviderWebhookResult } from '../shared/provider-webhook-support.js';
import { mapTelnyxWebhook } from './telnyx-mapping.js';
import { TELNYX_SIGNATURE_HEADER, TELNYX_TIMESTAMP_HEADER, verifyTelnyxSignature } from './telnyx-signature.js';

/** Telnyx Call Control webhooks (docs/telephony-providers.md#telnyx). */
@Controller('v1/webhooks/telnyx')
export class TelnyxWebhookController {
  constructor(
    private readonly support: ProviderWebhookSupport,
    @Inject(CONFIG) private readonly config: TelephonyIngestConfig,
  ) {}

  @Post(':siteId')
  @HttpCode(200)
  async receive(@Param('siteId') siteId: string, @Req() req: RawBodyRequest<FastifyRequest>): Promise<ProviderWebhookResult> {
    this.support.ensureReady();
    this.support.requireMediaType(req, 'application/json');
    const { site, credentials } = this.support.siteWithCredentials(siteId, 'telnyx', req);
    if (!req.rawBody) throw new ApiError(400, 'invalid_json', 'request body is missing');
    // Checked when stored; a key that no longer loads is a broken record, not the caller's fault.
    const publicKey = telnyxPublicKey(credentials.publicKey);
    if (!publicKey) throw new ApiError(500, 'internal', 'the stored Telnyx public key cannot be loaded');

    const check = verifyTelnyxSignature({
      publicKey,
      signature: req.headers[TELNYX_SIGNATURE_HEADER],
      timestamp: req.headers[TELNYX_TIMESTAMP_HEADER],
      rawBody: req.rawBody,
      nowMs: Date.now(),
      toleranceSeconds: this.config.WEBHOOK_TOLERANCE_SECONDS,
    });
    if (!check.ok) this.support.signatureRefused(siteId, 'telnyx', check.reason, req, 'telnyx-signature-ed25519 over telnyx-timestamp|body');

    return this.support.deliver(siteId, 'telnyx', site, mapTelnyxWebhook(req.body, site.country, siteId), req);
  }
}
