import { countCallReported } from '../shared/webhook-metrics.js';
import { Controller, HttpCode, Inject, Param, Post, Req, type RawBodyRequest } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { callKey, createEvent } from '@calltrack/contracts';
import { KafkaBus } from '@calltrack/kafka';
import { ApiError, CONFIG, LOGGER, RefusalLog } from '@calltrack/service-kit';
import type { Logger } from '@calltrack/telemetry';
import { SERVICE_NAME, type TelephonyIngestConfig } from '../../config.js';
import { eventTimeWindow } from '../../intake/event-time-window.js';
import { mapGenericWebhook, webhookEventId } from './generic-mapping.js';
import { IngestStateService } from '../../sites/ingest-state.service.js';
import { verifySignedJsonRequest } from '../shared/signed-json-request.js';
import { WebhookStats } from '../shared/webhook-stats.js';

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
    private readonly refusals: RefusalLog,
  ) {}

  @Post(':siteId')
  @HttpCode(202)
  async receive(@Param('siteId') siteId: string, @Req() req: RawBodyRequest<FastifyRequest>): Promise<{ callId: string; eventId: string }> {
    const { site, rawBody } = verifySignedJsonRequest(siteId, req, {
      state: this.state,
      toleranceSeconds: this.config.WEBHOOK_TOLERANCE_SECONDS,
      noun: 'webhooks',
      docs: 'docs/webhooks-generic.md',
      reject: (reason) => this.reject(siteId, reason, req),
    });

    const mapped = mapGenericWebhook(req.body, site.country, { nowMs: Date.now(), window: eventTimeWindow(this.config) });
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
    countCallReported('generic');
    this.logger.info({ event: 'webhook_accepted', site_id: siteId, call_id: mapped.callId, event_id: event.eventId, status: mapped.payload.status });
    return { callId: mapped.callId, eventId: event.eventId };
  }

  private reject(siteId: string, reason: Parameters<WebhookStats['record']>[1], req: FastifyRequest): void {
    this.stats.record(siteId, reason);
    // Counted above; logged sampled (one line per site, reason and minute), a flood of forgeries cannot flood the log.
    this.refusals.refused('webhooks.generic', siteId, reason, { event: 'webhook_rejected', ip: req.ip });
  }
}
