import { Module, type DynamicModule } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ServiceCoreModule } from '@calltrack/service-kit';
import type { Logger } from '@calltrack/telemetry';
import { AdminModule } from './admin/admin.module.js';
import { AsteriskModule } from './asterisk/asterisk.module.js';
import { SERVICE_NAME, type TelephonyIngestConfig } from './config.js';
import { EnquiriesModule } from './enquiries/enquiries.module.js';
import { WebhookRateLimitGuard } from './webhooks/shared/webhook-rate-limit.guard.js';
import { WebhooksModule } from './webhooks/webhooks.module.js';

@Module({})
export class TelephonyIngestModule {
  static register(config: TelephonyIngestConfig, logger: Logger): DynamicModule {
    return {
      module: TelephonyIngestModule,
      imports: [ServiceCoreModule.forRoot({ name: SERVICE_NAME, logger, config }), WebhooksModule, AsteriskModule, EnquiriesModule, AdminModule],
      // Installed for the whole service: the webhooks and the enquiry API are rate-limited before their signatures are checked.
      providers: [{ provide: APP_GUARD, useClass: WebhookRateLimitGuard }],
    };
  }
}
