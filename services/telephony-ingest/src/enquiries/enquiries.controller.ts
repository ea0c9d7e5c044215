import { Controller, HttpCode, Inject, Param, Post, Req, type RawBodyRequest } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { createEvent, enquiryKey } from '@calltrack/contracts';
import { KafkaBus } from '@calltrack/kafka';
import { ApiError, CONFIG, LOGGER, RefusalLog } from '@calltrack/service-kit';
import type { Logger } from '@calltrack/telemetry';
import { SERVICE_NAME, type TelephonyIngestConfig } from '../config.js';
import { eventTimeWindow } from '../intake/event-time-window.js';
import { enquiryEventId, mapEnquiry } from './enquiry-mapping.js';
import { IngestStateService } from '../sites/ingest-state.service.js';
import { verifySignedJsonRequest } from '../webhooks/shared/signed-json-request.js';
import { ProviderWebhookStats, type ProviderRejection } from '../webhooks/shared/webhook-stats.js';

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
    private readonly refusals: RefusalLog,
  ) {}

  @Post(':siteId/enquiries')
  @HttpCode(200)
  async receive(
    @Param('siteId') siteId: string,
    @Req() req: RawBodyRequest<FastifyRequest>,
  ): Promise<{ enquiryId: string; eventId: string; status: 'accepted' }> {
    const { site } = verifySignedJsonRequest(siteId, req, {
      state: this.state,
      toleranceSeconds: this.config.WEBHOOK_TOLERANCE_SECONDS,
      noun: 'enquiries',
      docs: 'docs/enquiries.md',
      reject: (reason) => this.reject(siteId, reason === 'no_secret' ? 'no_credentials' : reason, req),
    });

    const receivedAtMs = Date.now();
    const mapped = mapEnquiry(req.body, site.country, receivedAtMs, eventTimeWindow(this.config));
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
    // Counted above; logged sampled (one line per site, reason and minute).
    this.refusals.refused('enquiry_checks', siteId, reason, { event: 'enquiry_rejected', ip: req.ip });
  }
}
