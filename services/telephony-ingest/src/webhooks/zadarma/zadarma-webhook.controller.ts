import { Controller, Get, Header, HttpCode, Param, Post, Query, Req, Res, type RawBodyRequest } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '@calltrack/service-kit';
import { formObject, formPairs } from '../shared/form-body.js';
import { ProviderWebhookSupport } from '../shared/provider-webhook-support.js';
import { SignedCallFeed } from './signed-call-feed.js';
import { mapZadarmaNotification } from './zadarma-mapping.js';
import { verifyZadarmaSignature, ZADARMA_SIGNATURE_HEADER, zadarmaSignedString } from './zadarma-signature.js';

// What Zadarma sends as zd_echo: a short token. Anything else is not echoed (no reflected content).
const ECHO = /^[A-Za-z0-9._-]{1,128}$/;

/** Zadarma PBX notifications (docs/telephony-providers.md#zadarma). */
@Controller('v1/webhooks/zadarma')
export class ZadarmaWebhookController {
  constructor(
    private readonly support: ProviderWebhookSupport,
    private readonly signedCalls: SignedCallFeed,
  ) {}

  // Follow-ups are checked against the signed facts of their calls: not before those are rebuilt.
  private readonly signedCallsRebuilt = (): boolean => this.signedCalls.isRebuilt();

  /** URL check when the notification URL is saved in Zadarma: the zd_echo value comes back as the body. */
  @Get(':siteId')
  @HttpCode(200)
  @Header('content-type', 'text/plain; charset=utf-8')
  @Header('x-content-type-options', 'nosniff')
  echo(@Param('siteId') siteId: string, @Query('zd_echo') echo: unknown, @Req() req: FastifyRequest): string {
    this.support.ensureReady(this.signedCallsRebuilt);
    this.support.siteWithCredentials(siteId, 'zadarma', req);
    this.support.requireAllowedSource(siteId, 'zadarma', req);
    if (typeof echo !== 'string' || !ECHO.test(echo)) throw new ApiError(400, 'invalid_request', 'zd_echo must be 1-128 letters, digits, ".", "_" or "-"');
    return echo;
  }

  /**
   * A call notification. Answered with an empty 200: a JSON body would be read
   * by Zadarma as routing instructions for the call (redirect, hangup).
   */
  @Post(':siteId')
  async notify(@Param('siteId') siteId: string, @Req() req: RawBodyRequest<FastifyRequest>, @Res() reply: FastifyReply): Promise<void> {
    this.support.ensureReady(this.signedCallsRebuilt);
    this.support.requireMediaType(req, 'application/x-www-form-urlencoded');
    const { site, credentials } = this.support.siteWithCredentials(siteId, 'zadarma', req);
    this.support.requireAllowedSource(siteId, 'zadarma', req);
    if (!req.rawBody) throw new ApiError(400, 'invalid_request', 'request body is missing');
    const form = formObject(formPairs(req.rawBody));

    if (zadarmaSignedString(form) === undefined) {
      // No documented signature for this event (SMS, speech recognition…): acknowledged, never read.
      await this.support.deliver(siteId, 'zadarma', site, { kind: 'ignored', reason: `event ${form['event'] ?? '(none)'} is not a call notification` }, req);
      await reply.status(200).header('content-type', 'text/plain; charset=utf-8').send('');
      return;
    }
    const check = verifyZadarmaSignature({ secret: credentials.secret, form, signature: req.headers[ZADARMA_SIGNATURE_HEADER] });
    if (!check.ok) this.support.signatureRefused(siteId, 'zadarma', check.reason, req, `Signature for ${form['event']}`);

    const mapping = mapZadarmaNotification(form, site, siteId, req.rawBody, {
      nowMs: Date.now(),
      toleranceMs: this.support.config.WEBHOOK_TOLERANCE_SECONDS * 1000,
      maxCallMs: this.support.config.ZADARMA_MAX_CALL_SECONDS * 1000,
      times: this.support.timeWindow,
    });
    const result = await this.support.deliver(siteId, 'zadarma', site, mapping, req);
    // Diagnostics for operators (Zadarma ignores headers): what became of the notification.
    if ('eventId' in result) void reply.header('x-calltrack-event-id', result.eventId).header('x-calltrack-call-id', result.callId);
    await reply.status(200).header('content-type', 'text/plain; charset=utf-8').header('x-calltrack-outcome', result.outcome).send('');
  }
}
