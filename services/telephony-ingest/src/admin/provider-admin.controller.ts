import { Body, Controller, HttpCode, Param, Put, UseGuards } from '@nestjs/common';
import { AdminTokenGuard, ApiError, siteIdPipe, ZodValidationPipe } from '@calltrack/service-kit';
import { IngestStateService } from '../sites/ingest-state.service.js';
import { credentialsBodies, credentialsFromBody, isWebhookProvider, WEBHOOK_PROVIDERS } from '../sites/provider-credentials.js';

/** Operators set each site's telephony provider credentials; stored on telephony-secrets, never echoed. */
@Controller('v1/admin/sites')
@UseGuards(AdminTokenGuard)
export class ProviderAdminController {
  constructor(private readonly state: IngestStateService) {}

  /** Sets (or rotates) a provider's credentials for a site: the old ones stop verifying at once. */
  @Put(':siteId/providers/:provider')
  @HttpCode(200)
  async setCredentials(@Param('siteId', siteIdPipe) siteId: string, @Param('provider') provider: string, @Body() body: unknown): Promise<object> {
    if (!isWebhookProvider(provider)) throw new ApiError(404, 'unknown_provider', `provider must be one of ${WEBHOOK_PROVIDERS.join(', ')}`);
    const valid = new ZodValidationPipe(credentialsBodies[provider]).transform(body) as Record<string, string>;
    if (!this.state.site(siteId)) throw new ApiError(404, 'unknown_site', `site ${siteId} is not configured`);
    const { eventId, applied } = await this.state.setProviderCredentials(siteId, credentialsFromBody(provider, valid));
    return { siteId, provider, credentialsSet: true, applied, eventId };
  }
}
