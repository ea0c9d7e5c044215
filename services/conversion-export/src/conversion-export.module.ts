import { Module, type DynamicModule } from '@nestjs/common';
import { ServiceCoreModule } from '@calltrack/service-kit';
import type { Logger } from '@calltrack/telemetry';
import { SERVICE_NAME, type ConversionExportConfig } from './config.js';
import { DeliveriesAdminController } from './deliveries-admin.controller.js';
import { ExportService } from './export.service.js';

@Module({})
export class ConversionExportModule {
  static register(config: ConversionExportConfig, logger: Logger): DynamicModule {
    return {
      module: ConversionExportModule,
      imports: [ServiceCoreModule.forRoot({ name: SERVICE_NAME, logger, config })],
      controllers: [DeliveriesAdminController],
      providers: [ExportService],
    };
  }
}
