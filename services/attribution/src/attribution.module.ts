import { Inject, Module, type DynamicModule, type OnModuleInit } from '@nestjs/common';
import { ReadinessService, ServiceCoreModule, SiteDirectory } from '@calltrack/service-kit';
import type { Logger } from '@calltrack/telemetry';
import { AttributionStore } from './attribution-store.js';
import { CallAttributionService } from './call-attribution.service.js';
import { CallsController } from './calls.controller.js';
import { SERVICE_NAME, type AttributionConfig } from './config.js';
import { StateProjectionService } from './state-projection.service.js';

// Migrations run before any consumer starts (onModuleInit precedes onApplicationBootstrap).
class StoreLifecycle implements OnModuleInit {
  constructor(
    @Inject(AttributionStore) private readonly store: AttributionStore,
    @Inject(ReadinessService) private readonly readiness: ReadinessService,
  ) {}

  async onModuleInit(): Promise<void> {
    this.readiness.register('clickhouse_migrated', () => this.store.isReady());
    await this.store.open();
  }
}

@Module({})
export class AttributionModule {
  static register(config: AttributionConfig, logger: Logger): DynamicModule {
    return {
      module: AttributionModule,
      imports: [ServiceCoreModule.forRoot({ name: SERVICE_NAME, logger, config })],
      controllers: [CallsController],
      providers: [AttributionStore, StoreLifecycle, SiteDirectory, StateProjectionService, CallAttributionService],
    };
  }
}
