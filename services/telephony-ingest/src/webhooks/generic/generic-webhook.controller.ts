import { Controller, HttpCode, Inject, Param, Post, Req, type RawBodyRequest } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { ApiError, CONFIG, LOGGER, RefusalLog } from '@calltrack/service-kit';
import type { Logger } from '@calltrack/telemetry';
import { CallReports, type CallReportResult } from '../../calls/call-reports.service.js';
import type { TelephonyIngestConfig } from '../../config.js';
import { eventTimeWindow } from '../../intake/event-time-window.js';
import type { FieldProblem } from '../../intake/field-problems.js';
import { IngestStateService } from '../../sites/ingest-state.service.js';
import { verifySignedJsonRequest } from '../shared/signed-json-request.js';
import { WebhookStats } from '../shared/webhook-stats.js';
import { mapGenericWebhook, webhookEventId } from './generic-mapping.js';

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
    private readonly reports: CallReports,
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
    if (!mapped.ok) this.invalid(siteId, mapped.problems, req);

    const eventId = webhookEventId(siteId, rawBody);
    let result: CallReportResult;
    try {
      // The sender states the whole call: published as given, nothing to merge.
      result = await this.reports.report(siteId, { kind: 'statement', payload: mapped.payload, occurredAtMs: mapped.occurredAtMs, eventId });
    } catch (err) {
      // Not acknowledged means not stored: the provider must retry (same bytes, same event id).
      this.logger.error({ event: 'call_report_publish_failed', site_id: siteId, call_id: mapped.callId, err });
      throw new ApiError(503, 'unavailable', 'the report could not be stored; retry later');
    }
    if (!result.ok) this.invalid(siteId, result.problems, req);
    this.stats.record(siteId, 'accepted');
    this.logger.info({ event: 'webhook_accepted', site_id: siteId, call_id: mapped.callId, event_id: eventId, status: mapped.payload.status });
    return { callId: mapped.callId, eventId };
  }

  private invalid(siteId: string, problems: FieldProblem[], req: FastifyRequest): never {
    this.reject(siteId, 'invalid_payload', req);
    const summary = problems.map((p) => `${p.field}: ${p.problem}`).join('; ');
    throw new ApiError(400, 'invalid_request', `invalid webhook body: ${summary}`, problems);
  }

  private reject(siteId: string, reason: Parameters<WebhookStats['record']>[1], req: FastifyRequest): void {
    this.stats.record(siteId, reason);
    // Counted above; logged sampled (one line per site, reason and minute), a flood of forgeries cannot flood the log.
    this.refusals.refused('webhooks.generic', siteId, reason, { event: 'webhook_rejected', ip: req.ip });
  }
}
