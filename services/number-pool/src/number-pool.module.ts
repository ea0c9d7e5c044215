import { Module, type DynamicModule } from '@nestjs/common';
import { ServiceCoreModule } from '@calltrack/service-kit';
import type { Logger } from '@calltrack/telemetry';
import { SERVICE_NAME, type NumberPoolConfig } from './config.js';
import { PoolService } from './pool.service.js';
import { NumbersAdminController } from './numbers-admin.controller.js';
import { OpenApiController } from './openapi.controller.js';
import { OwnershipAdminController } from './ownership-admin.controller.js';
import { RulesAdminController } from './rules-admin.controller.js';
import { SiteConfigService } from './site-config.service.js';
import { PromoCodesAdminController } from './promo-codes-admin.controller.js';
import { SitesAdminController } from './sites-admin.controller.js';

@Module({})
export class NumberPoolModule {
  static register(config: NumberPoolConfig, logger: Logger): DynamicModule {
    return {
      module: NumberPoolModule,
      imports: [ServiceCoreModule.forRoot({ name: SERVICE_NAME, logger, config })],
      controllers: [SitesAdminController, NumbersAdminController, RulesAdminController, PromoCodesAdminController, OwnershipAdminController, OpenApiController],
      providers: [PoolService, SiteConfigService],
    };
  }
}
