import { Module, type DynamicModule } from '@nestjs/common';
import { ServiceCoreModule } from '@calltrack/service-kit';
import type { Logger } from '@calltrack/telemetry';
import { SERVICE_NAME, type TelephonyIngestConfig } from './config.js';
import { GenericWebhookController } from './generic-webhook.controller.js';
import { IngestStateService } from './ingest-state.service.js';
import { WebhookAdminController } from './webhook-admin.controller.js';
import { WebhookStats } from './webhook-stats.js';

@Module({})
export class TelephonyIngestModule {
  static register(config: TelephonyIngestConfig, logger: Logger): DynamicModule {
    return {
      module: TelephonyIngestModule,
      imports: [ServiceCoreModule.forRoot({ name: SERVICE_NAME, logger, config })],
      controllers: [GenericWebhookController, WebhookAdminController],
      providers: [IngestStateService, { provide: WebhookStats, useFactory: () => new WebhookStats() }],
    };
  }
}
