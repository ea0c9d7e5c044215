import { Controller, HttpCode, Inject, Param, Post, Req, type RawBodyRequest } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { createEvent, enquiryKey, SITE_ID_PATTERN } from '@calltrack/contracts';
import { KafkaBus } from '@calltrack/kafka';
import { ApiError, CONFIG, LOGGER } from '@calltrack/service-kit';
import type { Logger } from '@calltrack/telemetry';
import { SERVICE_NAME, type TelephonyIngestConfig } from './config.js';
import { enquiryEventId, mapEnquiry } from './enquiry-intake.js';
import { IngestStateService } from './ingest-state.service.js';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verifyWebhookSignature } from './webhook-signature.js';
import { ProviderWebhookStats, type ProviderRejection } from './webhook-stats.js';

/** The name enquiries are counted under in webhook-stats. */
export const ENQUIRY_STATS_KEY = 'enquiries';

/**
 * The enquiry API (docs/enquiries.md): forms, callback requests, chats and other
 * enquiries, sent server to server and signed with the site's generic-webhook secret
 * exactly like the generic call webhook. Checks run in the same fixed order — site
 * known, signature valid, body valid — so an unsigned request learns nothing about
 * validation. The answer depends only on the site and enquiry id, so a retry gets the
 * same answer and publishes the same event (consumers keep the first).
 */
@Controller('v1/sites')
export class EnquiriesController {
  constructor(
    private readonly state: IngestStateService,
    private readonly stats: ProviderWebhookStats,
    private readonly bus: KafkaBus,
    @Inject(CONFIG) private readonly config: TelephonyIngestConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  @Post(':siteId/enquiries')
  @HttpCode(200)
  async receive(@Param('siteId') siteId: string, @Req() req: RawBodyRequest<FastifyRequest>): Promise<{ enquiryId: string; eventId: string; status: 'accepted' }> {
    if (!this.state.isRebuilt()) throw new ApiError(503, 'not_ready', 'the service is starting; retry shortly');
    const mediaType = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (mediaType !== 'application/json') throw new ApiError(415, 'unsupported_media_type', 'enquiries must be sent as Content-Type: application/json');

    const site = SITE_ID_PATTERN.test(siteId) ? this.state.site(siteId) : undefined;
    if (!site?.secret) {
      if (site) this.reject(siteId, 'no_credentials', req);
      throw new ApiError(404, 'unknown_site', `site ${siteId} does not accept enquiries (unknown site or no webhook secret set)`);
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
      throw new ApiError(401, 'invalid_signature', 'X-Calltrack-Signature is missing, malformed or does not match the body (see docs/enquiries.md)', { reason: check.reason });
    }

    const receivedAtMs = Date.now();
    const mapped = mapEnquiry(req.body, site.country, receivedAtMs);
    if (!mapped.ok) {
      this.reject(siteId, 'invalid_payload', req);
      const summary = mapped.problems.map((p) => `${p.field}: ${p.problem}`).join('; ');
      throw new ApiError(400, 'invalid_request', `invalid enquiry: ${summary}`, mapped.problems);
    }

    const event = createEvent('EnquiryReceived', mapped.payload, {
      siteId,
      producer: SERVICE_NAME,
      eventId: enquiryEventId(siteId, mapped.enquiryId),
      occurredAtMs: mapped.occurredAtMs,
    });
    try {
      await this.bus.producer.publish('enquiries', enquiryKey(siteId, mapped.enquiryId), event);
    } catch (err) {
      // Not acknowledged means not stored: the site must retry (same enquiry id, same event id).
      this.logger.error({ event: 'enquiry_publish_failed', site_id: siteId, enquiry_id: mapped.enquiryId, err });
      throw new ApiError(503, 'unavailable', 'the enquiry could not be stored; retry later');
    }
    this.stats.record(siteId, ENQUIRY_STATS_KEY, 'accepted');
    this.logger.info({ event: 'enquiry_accepted', site_id: siteId, enquiry_id: mapped.enquiryId, event_id: event.eventId });
    return { enquiryId: mapped.enquiryId, eventId: event.eventId, status: 'accepted' };
  }

  private reject(siteId: string, reason: ProviderRejection, req: FastifyRequest): void {
    this.stats.record(siteId, ENQUIRY_STATS_KEY, reason);
    this.logger.warn({ event: 'enquiry_rejected', site_id: siteId, reason, ip: req.ip });
  }
}
