import { Body, Controller, HttpCode, Inject, Param, Post, Req, UseGuards } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import {
  botReason,
  chooseTrackingMethod,
  classifyChannel,
  createEvent,
  newEventId,
  SITE_ID_PATTERN,
  SITE_ID_RULE,
  siteKey,
  visitorKey,
  type Channel,
  type TrackingMethod,
} from '@calltrack/contracts';
import { counter, type Counter } from '@calltrack/telemetry';
import { KafkaBus, type OutgoingRecord } from '@calltrack/kafka';
import { ApiError, CONFIG, SiteDirectory, ZodValidationPipe } from '@calltrack/service-kit';
import { z } from 'zod';
import { SERVICE_NAME, type SessionTrackerConfig } from './config.js';
import { parseLandingPage, UTM_KEYS } from './landing-page.js';
import { ClientAddressKeys } from './client-address-key.js';
import { FlaggedVisitorsService } from './flagged-visitors.service.js';
import { LeaseRepliesService } from './lease-replies.service.js';
import { PublicRateLimitGuard } from './rate-limit.guard.js';
import { SessionIds } from './session-ids.js';

const id = z.string().regex(/^[A-Za-z0-9_.-]{8,64}$/, 'expected 8-64 characters of letters, digits, "_", "." or "-"');
const text = (max: number) => z.string().max(max);

const startSessionBody = z
  .object({
    siteId: z.string().regex(SITE_ID_PATTERN, SITE_ID_RULE),
    visitorId: id.optional(),
    landingPage: z.url({ protocol: /^https?$/ }).max(4096),
    referrer: z.union([z.url().max(4096), z.literal('')]).default(''),
    userAgent: text(1024).optional(),
    utm: z
      .object(Object.fromEntries(UTM_KEYS.map((k) => [k, text(500).optional()])))
      .strict()
      .optional(),
    clickIds: z.record(z.string().regex(/^[a-z_]{2,20}$/), text(500)).optional(),
    analyticsIds: z
      .object({ gaClientId: text(100).optional(), ymUid: text(100).optional(), fbp: text(200).optional(), fbc: text(500).optional() })
      .strict()
      .optional(),
  })
  .strict();

type StartSessionBody = z.infer<typeof startSessionBody>;

const heartbeatBody = z
  .object({
    siteId: z.string().regex(SITE_ID_PATTERN, SITE_ID_RULE),
    leaseId: z.string().min(1).max(64),
  })
  .strict();
const sessionIdParam = new ZodValidationPipe(id, 'session id');

const endBody = z
  .object({
    siteId: z.string().regex(SITE_ID_PATTERN, SITE_ID_RULE),
    visitorId: id.optional(),
    leaseId: z.string().min(1).max(64).optional(),
  })
  .strict();

export interface StartSessionResponse {
  sessionId: string;
  visitorId: string;
  /** Marketing channel of the visit (docs/channels.md). */
  channel: Channel;
  /** How the visit is tracked, by the site's tracking rules: dynamic, static, promo_code or default_number. */
  method: TrackingMethod;
  /** The number to show (E.164): a tracking number, a static number, or the site's default number. */
  number: string;
  /** The session's promo code (method promo_code), printed with the site's prefix. */
  promoCode?: string;
  leaseId?: string;
  expiresAt?: string;
  /** True when the session has no lease of its own: the default number, or (reason holder_share) a number its visitor or address already holds. */
  fallback: boolean;
  reason?: string;
}

/**
 * How long before the tracker gives up number-pool must have granted: the answer's way
 * back (publish, fetch by this instance) and clock skew between hosts. A grant that still
 * arrives late is given back (LeaseRepliesService).
 */
const unknownSession = (sessionId: string): ApiError =>
  new ApiError(404, 'unknown_session', `session ${sessionId} was not started by this platform in the last 24 hours`);

export function replyMargin(timeoutMs: number): number {
  return Math.min(250, Math.floor(timeoutMs / 5));
}

@Controller('v1/sessions')
@UseGuards(PublicRateLimitGuard)
export class SessionsController {
  constructor(
    private readonly bus: KafkaBus,
    private readonly sites: SiteDirectory,
    private readonly replies: LeaseRepliesService,
    private readonly flagged: FlaggedVisitorsService,
    private readonly clientKeys: ClientAddressKeys,
    private readonly sessionIds: SessionIds,
    @Inject(CONFIG) private readonly config: SessionTrackerConfig,
  ) {}

  /** Starts a visit: publishes the session and asks number-pool for a tracking number. */
  @Post()
  @HttpCode(201)
  async start(@Body(new ZodValidationPipe(startSessionBody)) body: StartSessionBody, @Req() request: FastifyRequest): Promise<StartSessionResponse> {
    const response = await this.startSession(body, request);
    sessionsStarted().inc({ number: numberKind(response) });
    return response;
  }

  private async startSession(body: StartSessionBody, request: FastifyRequest): Promise<StartSessionResponse> {
    const site = this.sites.get(body.siteId);
    if (!site) throw new ApiError(404, 'unknown_site', `site ${body.siteId} is not configured`);
    const now = Date.now();
    const sessionId = this.sessionIds.mint(now);
    const visitorId = body.visitorId ?? newEventId();
    const fromUrl = parseLandingPage(body.landingPage);
    // Tags the tracker read itself win over the landing URL's (it may have kept them across a redirect).
    const utm = { ...fromUrl.utm, ...Object.fromEntries(Object.entries(body.utm ?? {}).filter(([, v]) => v)) };
    const clickIds = { ...fromUrl.clickIds, ...(body.clickIds ?? {}) };
    const channel = classifyChannel({ utmSource: utm.source, utmMedium: utm.medium, clickIds, referrer: body.referrer, landingPage: body.landingPage });
    const userAgent = body.userAgent ?? request.headers['user-agent'] ?? '';
    const choice = chooseTrackingMethod(site, { channel, utm, referrer: body.referrer, landingPage: body.landingPage, clickIds });
    // A crawler by its user agent, or a visitor antifraud already judged to be a bot.
    const bot = botReason(userAgent) ?? (this.flagged.reason(body.siteId, body.visitorId) ? 'flagged_by_antifraud' : undefined);
    const session = createEvent(
      'SessionStarted',
      {
        sessionId,
        visitorId,
        startedAtMs: now,
        origin: { utm, referrer: body.referrer, landingPage: body.landingPage, clickIds, analyticsIds: body.analyticsIds ?? {}, channel },
        userAgent,
        clientIp: request.ip,
        trackingMethod: bot ? 'default_number' : choice.method,
        ruleId: choice.ruleId,
      },
      { siteId: body.siteId, producer: SERVICE_NAME, occurredAtMs: now },
    );
    const base = { sessionId, visitorId, channel };
    const sessionOnly = () => this.publishOr503([{ topic: 'sessions', key: visitorKey(body.siteId, visitorId), event: session }]);
    if (bot) {
      // Crawlers and automation see the site's own number and take no lease; the visit is still recorded.
      await sessionOnly();
      return { ...base, method: 'default_number', number: site.defaultNumber, fallback: true, reason: bot === 'flagged_by_antifraud' ? bot : 'bot' };
    }
    if (choice.method === 'static' || choice.method === 'default_number') {
      // A static number (its source is the attribution) or the site's own number: nothing to lease.
      await sessionOnly();
      return { ...base, method: choice.method, number: choice.staticNumber ?? site.defaultNumber, fallback: false };
    }
    const requestId = sessionId;
    // The visitor is shown the default number at giveUpAt; number-pool grants only until the
    // request's deadline, a little earlier, so that a grant has time to travel back.
    const giveUpAt = now + this.config.LEASE_REPLY_TIMEOUT_MS;
    const leaseRequest = createEvent(
      'LeaseRequested',
      // clientKey: the holder share per address (a keyed hash, docs/number-pool.md#holder-share).
      {
        requestId,
        sessionId,
        visitorId,
        clientKey: this.clientKeys.keyOf(request.ip),
        requestedAtMs: now,
        method: choice.method,
        deadlineMs: giveUpAt - replyMargin(this.config.LEASE_REPLY_TIMEOUT_MS),
      },
      { siteId: body.siteId, producer: SERVICE_NAME, occurredAtMs: now, causationId: session.eventId },
    );
    const pending = { requestId, siteId: body.siteId, sessionId };
    const answer = this.replies.expect(pending, giveUpAt);
    try {
      await this.publishOr503([
        { topic: 'sessions', key: visitorKey(body.siteId, visitorId), event: session },
        { topic: 'poolCommands', key: siteKey(body.siteId), event: leaseRequest },
      ]);
    } catch (err) {
      this.replies.cancel(pending);
      throw err;
    }
    const reply = await answer;
    const method = choice.method;
    if (!reply) return { ...base, method, number: site.defaultNumber, fallback: true, reason: 'pool_timeout' };
    if (reply.kind === 'rejected')
      return { ...base, method, number: reply.event.fallbackNumber || site.defaultNumber, fallback: true, reason: reply.event.reason };
    return {
      ...base,
      method,
      // A promo-code session shows the site's own number next to its code.
      number: reply.event.trackingNumber || site.defaultNumber,
      ...(reply.event.promoCode ? { promoCode: `${site.promoCodes?.prefix ?? ''}${reply.event.promoCode}` } : {}),
      leaseId: reply.event.leaseId,
      expiresAt: new Date(Number(reply.event.expiresAtMs)).toISOString(),
      fallback: false,
    };
  }

  private async publishOr503(records: OutgoingRecord[]): Promise<void> {
    try {
      await this.bus.producer.publishMany(records);
    } catch (err) {
      throw new ApiError(503, 'unavailable', `session could not be recorded: ${(err as Error).message}`);
    }
  }

  /**
   * The page is still visible: number-pool holds the session's number for another
   * tail from now. Accepted without waiting (the tracker does not need the answer).
   */
  @Post(':sessionId/heartbeat')
  @HttpCode(202)
  async heartbeat(
    @Param('sessionId', sessionIdParam) sessionId: string,
    @Body(new ZodValidationPipe(heartbeatBody)) body: z.infer<typeof heartbeatBody>,
  ): Promise<{ sessionId: string; accepted: true }> {
    if (!this.sites.get(body.siteId)) throw new ApiError(404, 'unknown_site', `site ${body.siteId} is not configured`);
    const command = createEvent(
      'LeaseExtendRequested',
      { leaseId: body.leaseId, sessionId, requestedAtMs: Date.now() },
      { siteId: body.siteId, producer: SERVICE_NAME },
    );
    try {
      await this.bus.producer.publish('poolCommands', siteKey(body.siteId), command);
    } catch (err) {
      throw new ApiError(503, 'unavailable', `heartbeat could not be recorded: ${(err as Error).message}`);
    }
    return { sessionId, accepted: true };
  }

  /**
   * The visit ended (the visitor logged out, the site's own code says so): the
   * session is closed and its lease, if any, is held for one tail from now and
   * not extended again. Page navigation is not an end: the tracker sends a last
   * heartbeat on pagehide instead, so the next page of the site continues the visit.
   *
   * 404 unknown_session for an id this service never issued for a live visit: the service
   * keeps no sessions, but an id carries its start time and a MAC (session-ids.ts).
   */
  @Post(':sessionId/end')
  @HttpCode(202)
  async end(
    @Param('sessionId', sessionIdParam) sessionId: string,
    @Body(new ZodValidationPipe(endBody)) body: z.infer<typeof endBody>,
  ): Promise<{ sessionId: string; accepted: true }> {
    if (!this.sites.get(body.siteId)) throw new ApiError(404, 'unknown_site', `site ${body.siteId} is not configured`);
    const now = Date.now();
    if (!this.sessionIds.issued(sessionId, now)) throw unknownSession(sessionId);
    const records: OutgoingRecord[] = [
      {
        topic: 'sessions',
        key: visitorKey(body.siteId, body.visitorId ?? sessionId),
        event: createEvent(
          'SessionEnded',
          { sessionId, visitorId: body.visitorId ?? '', endedAtMs: now },
          { siteId: body.siteId, producer: SERVICE_NAME, occurredAtMs: now },
        ),
      },
    ];
    if (body.leaseId) {
      records.push({
        topic: 'poolCommands',
        key: siteKey(body.siteId),
        event: createEvent(
          'LeaseExtendRequested',
          { leaseId: body.leaseId, sessionId, requestedAtMs: now, final: true },
          { siteId: body.siteId, producer: SERVICE_NAME, occurredAtMs: now },
        ),
      });
    }
    try {
      await this.bus.producer.publishMany(records);
    } catch (err) {
      throw new ApiError(503, 'unavailable', `session end could not be recorded: ${(err as Error).message}`);
    }
    return { sessionId, accepted: true };
  }
}

/** calltrack_sessions_started_total{number}: which number visits were shown (defined at load). */
const started: Counter<'number'> = counter({
  name: 'calltrack_sessions_started_total',
  help:
    'Visits started, by the number shown: pool (a leased number), promo (a promo code), static (a source number), default (the site number: ' +
    'fallback, bot or rule).',
  labelNames: ['number'] as const,
});
const sessionsStarted = () => started;

function numberKind(r: StartSessionResponse): 'pool' | 'promo' | 'static' | 'default' {
  if (r.fallback || r.method === 'default_number') return 'default';
  if (r.method === 'static') return 'static';
  return r.promoCode ? 'promo' : 'pool';
}
