import { Module, type DynamicModule } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ServiceCoreModule } from '@calltrack/service-kit';
import type { Logger } from '@calltrack/telemetry';
import { AsteriskAmiService } from './asterisk/asterisk-ami.service.js';
import { CallReportPublisher } from './calls/call-reports.service.js';
import { SERVICE_NAME, type TelephonyIngestConfig } from './config.js';
import { EnquiriesController } from './enquiries/enquiries.controller.js';
import { GenericWebhookController } from './webhooks/generic/generic-webhook.controller.js';
import { IngestStateService } from './sites/ingest-state.service.js';
import { MangoWebhookController } from './webhooks/mango/mango-webhook.controller.js';
import { ProviderAdminController } from './admin/provider-admin.controller.js';
import { ProviderWebhookSupport } from './webhooks/shared/provider-webhook-support.js';
import { SignedCallFeed } from './webhooks/zadarma/signed-call-feed.js';
import { TelnyxWebhookController } from './webhooks/telnyx/telnyx-webhook.controller.js';
import { TwilioWebhookController } from './webhooks/twilio/twilio-webhook.controller.js';
import { WebhookAdminController } from './admin/webhook-admin.controller.js';
import { WebhookRateLimitGuard } from './webhooks/shared/webhook-rate-limit.guard.js';
import { ProviderWebhookStats, WebhookStats } from './webhooks/shared/webhook-stats.js';
import { ZadarmaWebhookController } from './webhooks/zadarma/zadarma-webhook.controller.js';

@Module({})
export class TelephonyIngestModule {
  static register(config: TelephonyIngestConfig, logger: Logger): DynamicModule {
    return {
      module: TelephonyIngestModule,
      imports: [ServiceCoreModule.forRoot({ name: SERVICE_NAME, logger, config })],
      controllers: [
        GenericWebhookController,
        TwilioWebhookController,
        ZadarmaWebhookController,
        MangoWebhookController,
        TelnyxWebhookController,
        WebhookAdminController,
        ProviderAdminController,
        EnquiriesController,
      ],
      providers: [
        IngestStateService,
        CallReportPublisher,
        SignedCallFeed,
        ProviderWebhookSupport,
        AsteriskAmiService,
        { provide: WebhookStats, useFactory: () => new WebhookStats() },
        { provide: ProviderWebhookStats, useFactory: () => new ProviderWebhookStats() },
        { provide: APP_GUARD, useClass: WebhookRateLimitGuard },
      ],
    };
  }
}
