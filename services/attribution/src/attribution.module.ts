import { Module, type DynamicModule } from '@nestjs/common';
import { ServiceCoreModule } from '@calltrack/service-kit';
import type { Logger } from '@calltrack/telemetry';
import { ApiModule, API_CONTROLLERS } from './api/index.js';
import { SERVICE_NAME, type AttributionConfig } from './config.js';
import { ConsumersModule } from './consumers/index.js';
import { ReplayModule } from './replay/index.js';
import { ReportsModule, REPORT_CONTROLLERS } from './reports/index.js';

/** Every HTTP controller of the service, in route order (the OpenAPI document must name each route). */
export const ATTRIBUTION_CONTROLLERS = [...API_CONTROLLERS, ...REPORT_CONTROLLERS];

/**
 * The service: one module per capability folder (README of docs/attribution.md, "Layout").
 * The consumers feed the pipeline, replay re-runs it, the API and the reports read the store.
 */
@Module({})
export class AttributionModule {
  static register(config: AttributionConfig, logger: Logger): DynamicModule {
    return {
      module: AttributionModule,
      imports: [ServiceCoreModule.forRoot({ name: SERVICE_NAME, logger, config }), ConsumersModule, ReplayModule, ApiModule, ReportsModule],
    };
  }
}
