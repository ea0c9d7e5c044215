import { Inject, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { SITE_ID_PATTERN } from '@calltrack/contracts';
import { ApiError, CONFIG, LOGGER, RefusalLog } from '@calltrack/service-kit';
import type { Logger } from '@calltrack/telemetry';
import type { CallObservation } from '../../calls/call-merge.js';
import { CallReportPublisher, type ReportOutcome } from '../../calls/call-reports.service.js';
import type { TelephonyIngestConfig } from '../../config.js';
import { idProblem } from '../../intake/ids.js';
import { eventTimeWindow, timeProblems, type EventTimeWindow } from '../../intake/event-time-window.js';
import type { FieldProblem } from '../generic/generic-mapping.js';
import type { SiteSettings } from '../../sites/ingest-state.js';
import { IngestStateService } from '../../sites/ingest-state.service.js';
import type { CredentialsOf, WebhookProvider } from '../../sites/provider-credentials.js';
import { ProviderWebhookStats, type ProviderRejection } from './webhook-stats.js';
import type { SignatureFailure } from './webhook-signature.js';
import { SignedCallFeed } from '../zadarma/signed-call-feed.js';
import { sourceAllowlists, type SourceAllowlists } from './source-allowlist.js';

export type TimeFields = Partial<Record<'startedAt' | 'answeredAt' | 'endedAt', string>>;

/** What an adapter made of one verified provider event. */
export type ProviderEventMapping =
  /** timeFields: the provider's field each time comes from, named when it is refused as out of range. */
  | { kind: 'call'; observation: CallObservation; eventId: string; timeFields?: TimeFields }
  /** Verified, but of a kind that says nothing about a tracked call (IVR digits, an internal call…). */
  | { kind: 'ignored'; reason: string }
  | { kind: 'invalid'; problems: FieldProblem[] }
  /** Signed, but outside the replay window of a signature without a timestamp of its own (Zadarma's call_start). */
  | { kind: 'stale'; problem: string };

/** The response body of an accepted provider webhook. */
export type ProviderWebhookResult = { outcome: 'published' | 'duplicate' | 'held'; callId: string; eventId: string } | { outcome: 'ignored'; reason: string };

/**
 * What every provider adapter does the same way: find the site and its
 * credentials, count and log refusals, publish what the event says. Checks run
 * in a fixed order — site known, credentials set, signature valid, body valid —
 * so an unsigned request learns nothing about validation.
 */
@Injectable()
export class ProviderWebhookSupport {
  readonly timeWindow: EventTimeWindow;
  private readonly allowlists: SourceAllowlists;

  constructor(
    private readonly state: IngestStateService,
    private readonly stats: ProviderWebhookStats,
    private readonly publisher: CallReportPublisher,
    private readonly signedCalls: SignedCallFeed,
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

  /**
   * 503 until the site state is rebuilt; for providers whose follow-ups are
   * checked against their calls' signed facts (Zadarma), until those are too.
   */
  ensureReady(options: { signedCalls?: boolean } = {}): void {
    if (!this.state.isRebuilt() || (options.signedCalls && !this.signedCalls.isRebuilt()))
      throw new ApiError(503, 'not_ready', 'the service is starting; retry shortly');
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

  /** Publishes a verified event's call report, or answers why not. */
  async deliver(
    siteId: string,
    provider: WebhookProvider,
    site: SiteSettings,
    mapping: ProviderEventMapping,
    req: FastifyRequest,
  ): Promise<ProviderWebhookResult> {
    if (mapping.kind === 'invalid') {
      this.rejected(siteId, provider, 'invalid_payload', req);
      const summary = mapping.problems.map((p) => `${p.field}: ${p.problem}`).join('; ');
      throw new ApiError(400, 'invalid_request', `invalid ${provider} webhook: ${summary}`, mapping.problems);
    }
    if (mapping.kind === 'stale') {
      this.rejected(siteId, provider, 'stale_timestamp', req);
      throw new ApiError(401, 'stale_timestamp', `${provider} notification outside the replay window: ${mapping.problem}`);
    }
    if (mapping.kind === 'ignored') {
      this.stats.record(siteId, provider, 'ignored');
      this.logger.debug({ event: 'webhook_ignored', provider, site_id: siteId, reason: mapping.reason });
      return { outcome: 'ignored', reason: mapping.reason };
    }
    const { observation } = mapping;
    const problems = this.observationProblems(observation, Date.now(), mapping.timeFields);
    if (problems.length > 0) return this.deliver(siteId, provider, site, { kind: 'invalid', problems }, req);
    return this.report(siteId, provider, site, observation, mapping.eventId, req);
  }

  /**
   * What no adapter may pass on (docs/telephony-providers.md#what-every-adapter-refuses):
   * a call id outside the id rule, a time outside the window, each named by the
   * provider's field.
   */
  observationProblems(observation: CallObservation, nowMs: number, timeFields: TimeFields = {}): FieldProblem[] {
    const problems: FieldProblem[] = [];
    const idIssue = idProblem(observation.providerCallId);
    if (idIssue) problems.push({ field: 'call id', problem: idIssue });
    const times = (['startedAt', 'answeredAt', 'endedAt'] as const).map((name) => [timeFields[name] ?? name, observation[name]?.ms] as const);
    problems.push(...timeProblems(times, nowMs, this.timeWindow));
    return problems;
  }

  /** Merges and publishes one observation; 503 when Kafka did not take it, so the provider retries. */
  async report(
    siteId: string,
    provider: string,
    site: SiteSettings,
    observation: CallObservation,
    eventId: string,
    req?: FastifyRequest,
  ): Promise<ProviderWebhookResult> {
    let result: ReportOutcome;
    try {
      result = await this.publisher.report(siteId, site, observation, eventId);
    } catch (err) {
      // Not acknowledged means not stored: the provider must retry (same event, same event id).
      this.logger.error({ event: 'call_report_publish_failed', provider, site_id: siteId, call_id: `${provider}:${observation.providerCallId}`, err });
      throw new ApiError(503, 'unavailable', 'the report could not be stored; retry later');
    }
    if (result.outcome === 'conflict') {
      this.rejected(siteId, provider, 'conflicting_event', req);
      throw new ApiError(409, 'conflicting_event', `${provider} event refused: ${result.field}: ${result.problem}`, [
        { field: result.field, problem: result.problem },
      ]);
    }
    this.stats.record(siteId, provider, 'accepted');
    this.logger.info({ event: 'webhook_accepted', provider, site_id: siteId, call_id: result.callId, event_id: result.eventId, outcome: result.outcome });
    return result;
  }

  rejected(siteId: string, provider: string, reason: ProviderRejection, req: FastifyRequest | undefined): void {
    this.stats.record(siteId, provider, reason);
    // Counted above; logged sampled (one line per site, reason and minute), a flood of forgeries cannot flood the log.
    this.refusals.refused(`webhooks.${provider}`, siteId, reason, { event: 'webhook_rejected', provider, ip: req?.ip });
  }
}
