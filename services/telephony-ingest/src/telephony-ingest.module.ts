import { Module, type DynamicModule } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ServiceCoreModule } from '@calltrack/service-kit';
import type { Logger } from '@calltrack/telemetry';
import { AsteriskAmiService } from './asterisk-ami.service.js';
import { CallReportPublisher } from './call-report-publisher.js';
import { SERVICE_NAME, type TelephonyIngestConfig } from './config.js';
import { EnquiriesController } from './enquiries.controller.js';
import { GenericWebhookController } from './generic-webhook.controller.js';
import { IngestStateService } from './ingest-state.service.js';
import { MangoWebhookController } from './mango-webhook.controller.js';
import { ProviderAdminController } from './provider-admin.controller.js';
import { ProviderWebhookSupport } from './provider-webhook-support.js';
import { SignedCallFeed } from './signed-call-feed.js';
import { TelnyxWebhookController } from './telnyx-webhook.controller.js';
import { TwilioWebhookController } from './twilio-webhook.controller.js';
import { WebhookAdminController } from './webhook-admin.controller.js';
import { WebhookRateLimitGuard } from './webhook-rate-limit.guard.js';
import { ProviderWebhookStats, WebhookStats } from './webhook-stats.js';
import { ZadarmaWebhookController } from './zadarma-webhook.controller.js';

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
