import { Module, type DynamicModule } from '@nestjs/common';
import { ServiceCoreModule, SiteDirectory } from '@calltrack/service-kit';
import type { Logger } from '@calltrack/telemetry';
import { BlocklistAdminController } from './blocklist-admin.controller.js';
import { SERVICE_NAME, type AntifraudConfig } from './config.js';
import { ScreeningService } from './screening.service.js';

@Module({})
export class AntifraudModule {
  static register(config: AntifraudConfig, logger: Logger): DynamicModule {
    return {
      module: AntifraudModule,
      imports: [ServiceCoreModule.forRoot({ name: SERVICE_NAME, logger, config })],
      controllers: [BlocklistAdminController],
      providers: [SiteDirectory, ScreeningService],
    };
  }
}
