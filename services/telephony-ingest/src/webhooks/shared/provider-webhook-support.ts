import { Inject, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { SITE_ID_PATTERN } from '@calltrack/contracts';
import { ApiError, CONFIG, LOGGER, RefusalLog } from '@calltrack/service-kit';
import type { Logger } from '@calltrack/telemetry';
import { CallReports, type CallReportResult } from '../../calls/call-reports.service.js';
import type { TelephonyIngestConfig } from '../../config.js';
import { eventTimeWindow, type EventTimeWindow } from '../../intake/event-time-window.js';
import type { SiteSettings } from '../../sites/ingest-state.js';
import { IngestStateService } from '../../sites/ingest-state.service.js';
import type { CredentialsOf, WebhookProvider } from '../../sites/provider-credentials.js';
import type { ProviderEventMapping } from './provider-event-mapping.js';
import { sourceAllowlists, type SourceAllowlists } from './source-allowlist.js';
import { ProviderWebhookStats, type ProviderRejection } from './webhook-stats.js';
import type { SignatureFailure } from './webhook-signature.js';

/** The response body of an accepted provider webhook. */
export type ProviderWebhookResult = { outcome: 'published' | 'duplicate' | 'held'; callId: string; eventId: string } | { outcome: 'ignored'; reason: string };

/**
 * What every provider adapter does the same way over HTTP: find the site and
 * its credentials, count and log refusals, hand a verified event to the one
 * call-report path (CallReports) and answer what became of it. Checks run in a
 * fixed order — site known, credentials set, signature valid, body valid — so
 * an unsigned request learns nothing about validation.
 */
@Injectable()
export class ProviderWebhookSupport {
  readonly timeWindow: EventTimeWindow;
  private readonly allowlists: SourceAllowlists;

  constructor(
    private readonly state: IngestStateService,
    private readonly stats: ProviderWebhookStats,
    private readonly reports: CallReports,
    @Inject(CONFIG) readonly config: TelephonyIngestConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly refusals: RefusalLog,
  ) {
    this.timeWindow = eventTimeWindow(config);
    this.allowlists = sourceAllowlists(config);
  }

  /**
   * 403 when the deployment restricts a provider's webhooks to its published
   * source addresses (ZADARMA_SOURCE_ADDRESSES, MANGO_SOURCE_ADDRESSES) and the
   * request comes from elsewhere. The address is the one the service kit
   * trusts (the peer, or X-Forwarded-For from a trusted proxy).
   */
  requireAllowedSource(siteId: string, provider: WebhookProvider, req: FastifyRequest): void {
    const list = this.allowlists[provider];
    if (!list || list.allows(req.ip)) return;
    this.rejected(siteId, provider, 'source_not_allowed', req);
    throw new ApiError(
      403,
      'source_not_allowed',
      `${provider} webhooks are accepted only from the provider's published addresses (see docs/telephony-providers.md)`,
    );
  }

  /** 503 until the site state is rebuilt, and until what the adapter names is (`alsoReady`: Zadarma's signed calls). */
  ensureReady(alsoReady: () => boolean = () => true): void {
    if (!this.state.isRebuilt() || !alsoReady()) throw new ApiError(503, 'not_ready', 'the service is starting; retry shortly');
  }

  /** Fastify already refuses unknown media types; form and JSON both have parsers, so check which one came. */
  requireMediaType(req: FastifyRequest, expected: 'application/json' | 'application/x-www-form-urlencoded'): void {
    const mediaType = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (mediaType !== expected) throw new ApiError(415, 'unsupported_media_type', `this webhook must be sent as Content-Type: ${expected}`);
  }

  /** The site and its credentials for a provider; 404 (counted when the site is known) otherwise. */
  siteWithCredentials<P extends WebhookProvider>(siteId: string, provider: P, req: FastifyRequest): { site: SiteSettings; credentials: CredentialsOf<P> } {
    const site = SITE_ID_PATTERN.test(siteId) ? this.state.siteSettings(siteId) : undefined;
    const credentials = site ? this.state.providerCredentials(siteId, provider) : undefined;
    if (!site || !credentials) {
      if (site) this.rejected(siteId, provider, 'no_credentials', req);
      throw new ApiError(404, 'unknown_site', `site ${siteId} does not accept ${provider} webhooks (unknown site or no ${provider} credentials set)`);
    }
    return { site, credentials };
  }

  /** Counts a refused signature and throws the 401 that says why (without echoing anything secret). */
  signatureRefused(siteId: string, provider: WebhookProvider, reason: SignatureFailure, req: FastifyRequest, how: string): never {
    this.rejected(siteId, provider, reason, req);
    if (reason === 'stale_timestamp') throw new ApiError(401, 'stale_timestamp', `${how}: the signed timestamp is outside the replay window`);
    throw new ApiError(401, 'invalid_signature', `${how}: the signature is missing, malformed or does not match (see docs/telephony-providers.md)`, { reason });
  }

  /** Reports a verified event's call, or answers why not: 400 invalid, 401 stale, 409 conflicting, 503 when Kafka did not take it. */
  async deliver(
    siteId: string,
    provider: WebhookProvider,
    site: SiteSettings,
    mapping: ProviderEventMapping,
    req: FastifyRequest,
  ): Promise<ProviderWebhookResult> {
    if (mapping.kind === 'invalid') return this.refuse(siteId, provider, { ok: false, reason: 'invalid_payload', problems: mapping.problems }, req);
    if (mapping.kind === 'stale') {
      this.rejected(siteId, provider, 'stale_timestamp', req);
      throw new ApiError(401, 'stale_timestamp', `${provider} notification outside the replay window: ${mapping.problem}`);
    }
    if (mapping.kind === 'ignored') {
      this.stats.record(siteId, provider, 'ignored');
      this.logger.debug({ event: 'webhook_ignored', provider, site_id: siteId, reason: mapping.reason });
      return { outcome: 'ignored', reason: mapping.reason };
    }
    const { observation, eventId, timeFields } = mapping;
    let result: CallReportResult;
    try {
      result = await this.reports.report(siteId, { kind: 'event', site, observation, eventId, receivedAtMs: Date.now(), timeFields });
    } catch (err) {
      // Not acknowledged means not stored: the provider must retry (same event, same event id).
      this.logger.error({ event: 'call_report_publish_failed', provider, site_id: siteId, call_id: `${provider}:${observation.providerCallId}`, err });
      throw new ApiError(503, 'unavailable', 'the report could not be stored; retry later');
    }
    if (!result.ok) return this.refuse(siteId, provider, result, req);
    this.stats.record(siteId, provider, 'accepted');
    this.logger.info({ event: 'webhook_accepted', provider, site_id: siteId, call_id: result.callId, event_id: result.eventId, outcome: result.outcome });
    return { outcome: result.outcome, callId: result.callId, eventId: result.eventId };
  }

  // A refused report as the provider is told it: 400 naming the fields, 409 naming the one that disagrees.
  private refuse(siteId: string, provider: WebhookProvider, refusal: Extract<CallReportResult, { ok: false }>, req: FastifyRequest): never {
    this.rejected(siteId, provider, refusal.reason, req);
    const summary = refusal.problems.map((p) => `${p.field}: ${p.problem}`).join('; ');
    if (refusal.reason === 'conflicting_event') throw new ApiError(409, 'conflicting_event', `${provider} event refused: ${summary}`, refusal.problems);
    throw new ApiError(400, 'invalid_request', `invalid ${provider} webhook: ${summary}`, refusal.problems);
  }

  private rejected(siteId: string, provider: WebhookProvider, reason: ProviderRejection, req: FastifyRequest): void {
    this.stats.record(siteId, provider, reason);
    // Counted above; logged sampled (one line per site, reason and minute), a flood of forgeries cannot flood the log.
    this.refusals.refused(`webhooks.${provider}`, siteId, reason, { event: 'webhook_rejected', provider, ip: req.ip });
  }
}
