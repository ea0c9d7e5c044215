import { Module } from '@nestjs/common';
import { CallsModule } from '../../calls/calls.module.js';
import { SitesModule } from '../../sites/sites.module.js';
import { ProviderWebhookSupport } from './provider-webhook-support.js';
import { ProviderWebhookStats, WebhookStats } from './webhook-stats.js';

/**
 * What the webhook adapters share: the HTTP side of a provider adapter
 * (ProviderWebhookSupport) and the per-site counters every adapter, the AMI
 * connections and the enquiry API feed (shown by the admin API's webhook-stats).
 */
@Module({
  imports: [SitesModule, CallsModule],
  providers: [
    ProviderWebhookSupport,
    { provide: WebhookStats, useFactory: () => new WebhookStats() },
    { provide: ProviderWebhookStats, useFactory: () => new ProviderWebhookStats() },
  ],
  exports: [ProviderWebhookSupport, WebhookStats, ProviderWebhookStats],
})
export class WebhooksSharedModule {}
