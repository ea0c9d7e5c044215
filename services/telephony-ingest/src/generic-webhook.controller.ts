import { Controller, HttpCode, Inject, Param, Post, Req, type RawBodyRequest } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { callKey, createEvent, SITE_ID_PATTERN } from '@calltrack/contracts';
import { KafkaBus } from '@calltrack/kafka';
import { ApiError, CONFIG, LOGGER } from '@calltrack/service-kit';
import type { Logger } from '@calltrack/telemetry';
import { SERVICE_NAME, type TelephonyIngestConfig } from './config.js';
import { mapGenericWebhook, webhookEventId } from './generic-webhook.js';
import { IngestStateService } from './ingest-state.service.js';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verifyWebhookSignature } from './webhook-signature.js';
import { WebhookStats } from './webhook-stats.js';

/**
 * The provider-neutral call webhook (docs/webhooks-generic.md). Checks run in
 * a fixed order — site known, signature valid, body valid — so an unsigned
 * request never learns anything about validation.
 */
@Controller('v1/webhooks/generic')
export class GenericWebhookController {
  constructor(
    private readonly state: IngestStateService,
    private readonly stats: WebhookStats,
    private readonly bus: KafkaBus,
    @Inject(CONFIG) private readonly config: TelephonyIngestConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  @Post(':siteId')
  @HttpCode(202)
  async receive(@Param('siteId') siteId: string, @Req() req: RawBodyRequest<FastifyRequest>): Promise<{ callId: string; eventId: string }> {
    if (!this.state.isRebuilt()) throw new ApiError(503, 'not_ready', 'the service is starting; retry shortly');
    // Fastify already refuses unknown media types; text/plain and form bodies have parsers of their own, so check here.
    const mediaType = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (mediaType !== 'application/json') throw new ApiError(415, 'unsupported_media_type', 'webhooks must be sent as Content-Type: application/json');

    const site = SITE_ID_PATTERN.test(siteId) ? this.state.site(siteId) : undefined;
    if (!site?.secret) {
      if (site) this.reject(siteId, 'no_secret', req);
      throw new ApiError(404, 'unknown_site', `site ${siteId} does not accept webhooks (unknown site or no webhook secret set)`);
    }

    const rawBody = req.rawBody;
    if (!rawBody) throw new ApiError(400, 'invalid_json', 'request body is missing');
    const check = verifyWebhookSignature({
      secret: site.secret,
      timestamp: req.headers[TIMESTAMP_HEADER],
      signature: req.headers[SIGNATURE_HEADER],
      rawBody,
      nowMs: Date.now(),
      toleranceSeconds: this.config.WEBHOOK_TOLERANCE_SECONDS,
    });
    if (!check.ok) {
      this.reject(siteId, check.reason, req);
      if (check.reason === 'stale_timestamp') {
        throw new ApiError(401, 'stale_timestamp', `X-Calltrack-Timestamp is more than ${this.config.WEBHOOK_TOLERANCE_SECONDS} s away from the server clock`);
      }
      throw new ApiError(401, 'invalid_signature', 'X-Calltrack-Signature is missing, malformed or does not match the body (see docs/webhooks-generic.md)');
    }

    const mapped = mapGenericWebhook(req.body, site.country);
    if (!mapped.ok) {
      this.reject(siteId, 'invalid_payload', req);
      const summary = mapped.problems.map((p) => `${p.field}: ${p.problem}`).join('; ');
      throw new ApiError(400, 'invalid_request', `invalid webhook body: ${summary}`, mapped.problems);
    }

    const event = createEvent('CallReported', mapped.payload, {
      siteId,
      producer: SERVICE_NAME,
      eventId: webhookEventId(siteId, rawBody),
      occurredAtMs: mapped.occurredAtMs,
    });
    try {
      await this.bus.producer.publish('calls', callKey(siteId, mapped.callId), event);
    } catch (err) {
      // Not acknowledged means not stored: the provider must retry (same bytes, same event id).
      this.logger.error({ event: 'call_report_publish_failed', site_id: siteId, call_id: mapped.callId, err });
      throw new ApiError(503, 'unavailable', 'the report could not be stored; retry later');
    }
    this.stats.record(siteId, 'accepted');
    this.logger.info({ event: 'webhook_accepted', site_id: siteId, call_id: mapped.callId, event_id: event.eventId, status: mapped.payload.status });
    return { callId: mapped.callId, eventId: event.eventId };
  }

  private reject(siteId: string, reason: Parameters<WebhookStats['record']>[1], req: FastifyRequest): void {
    this.stats.record(siteId, reason);
    this.logger.warn({ event: 'webhook_rejected', site_id: siteId, reason, ip: req.ip });
  }
}
