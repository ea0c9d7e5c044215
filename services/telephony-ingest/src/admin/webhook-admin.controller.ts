import { Body, Controller, Get, HttpCode, Param, Put, UseGuards } from '@nestjs/common';
import { AdminTokenGuard, ApiError, RefusalLog, siteIdPipe, ZodValidationPipe } from '@calltrack/service-kit';
import { z } from 'zod';
import { MAX_SECRET_LENGTH, MIN_SECRET_LENGTH } from '../sites/ingest-state.js';
import { IngestStateService } from '../sites/ingest-state.service.js';
import { WEBHOOK_PROVIDERS } from '../sites/provider-credentials.js';
import { AsteriskAmiService } from '../asterisk/asterisk-ami.service.js';
import { ENQUIRY_STATS_KEY } from '../enquiries/enquiries.controller.js';
import { ProviderWebhookStats, WebhookStats } from '../webhooks/shared/webhook-stats.js';

const secretBody = z
  .object({
    // Printable ASCII without spaces: the secret must survive shell quoting and provider consoles unchanged.
    secret: z
      .string()
      .min(MIN_SECRET_LENGTH)
      .max(MAX_SECRET_LENGTH)
      .regex(/^[\x21-\x7e]+$/, 'printable ASCII characters without spaces'),
  })
  .strict();

@Controller('v1/admin/sites')
@UseGuards(AdminTokenGuard)
export class WebhookAdminController {
  constructor(
    private readonly state: IngestStateService,
    private readonly stats: WebhookStats,
    private readonly providerStats: ProviderWebhookStats,
    private readonly asterisk: AsteriskAmiService,
    private readonly refusals: RefusalLog,
  ) {}

  /** Sets (or rotates) the secret a site's webhooks are signed with. The secret is never echoed. */
  @Put(':siteId/webhook-secret')
  @HttpCode(200)
  async setSecret(@Param('siteId', siteIdPipe) siteId: string, @Body(new ZodValidationPipe(secretBody)) body: z.infer<typeof secretBody>): Promise<object> {
    if (!this.state.site(siteId)) throw new ApiError(404, 'unknown_site', `site ${siteId} is not configured`);
    const { eventId, applied } = await this.state.setSecret(siteId, body.secret);
    return { siteId, secretSet: true, applied, eventId };
  }

  /**
   * Webhooks of a site accepted and rejected (by reason) since this instance
   * started: the generic webhook's at the top level, each provider adapter's
   * under `providers` (Asterisk: AMI events, with the state of each connection).
   */
  @Get(':siteId/webhook-stats')
  webhookStats(@Param('siteId', siteIdPipe) siteId: string): object {
    const site = this.state.site(siteId);
    if (!site) throw new ApiError(404, 'unknown_site', `site ${siteId} is not configured`);
    const configured = new Set(this.state.configuredProviders(siteId));
    const providers: Record<string, object> = {};
    for (const provider of WEBHOOK_PROVIDERS)
      providers[provider] = { credentialsConfigured: configured.has(provider), ...this.providerStats.of(siteId, provider) };
    providers['asterisk'] = { connections: this.asterisk.connections(siteId), ...this.providerStats.of(siteId, 'asterisk') };
    // The enquiry API is signed with the generic secret but counted on its own (docs/enquiries.md).
    const enquiries = this.providerStats.of(siteId, ENQUIRY_STATS_KEY);
    // Requests refused by the rate limits before any check (docs/webhooks-generic.md#rate-limits).
    const rateLimited = { webhooks: this.refusals.of('webhooks', siteId), enquiries: this.refusals.of('enquiries', siteId) };
    return { siteId, secretConfigured: site.secret !== undefined, ...this.stats.of(siteId), providers, enquiries, rateLimited };
  }
}
