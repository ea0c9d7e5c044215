import { Module, type DynamicModule } from '@nestjs/common';
import { ServiceCoreModule, SiteDirectory } from '@calltrack/service-kit';
import type { Logger } from '@calltrack/telemetry';
import { AttributionStore } from './attribution-store.js';
import { CallAttributionService } from './call-attribution.service.js';
import { CallsController } from './calls.controller.js';
import { SERVICE_NAME, type AttributionConfig } from './config.js';
import { ConversionsApiGrpcController } from './conversions-api.grpc.js';
import { StateProjectionService } from './state-projection.service.js';

@Module({})
export class AttributionModule {
  static register(config: AttributionConfig, logger: Logger): DynamicModule {
    return {
      module: AttributionModule,
      imports: [ServiceCoreModule.forRoot({ name: SERVICE_NAME, logger, config })],
      controllers: [CallsController, ConversionsApiGrpcController],
      providers: [AttributionStore, SiteDirectory, StateProjectionService, CallAttributionService],
    };
  }
}
