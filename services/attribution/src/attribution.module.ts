import { Module, type DynamicModule } from '@nestjs/common';
import { ServiceCoreModule, SiteDirectory } from '@calltrack/service-kit';
import type { Logger } from '@calltrack/telemetry';
import { AttributionAdminController } from './attribution-admin.controller.js';
import { AttributionSettingsService } from './attribution-settings.service.js';
import { AttributionStore } from './attribution-store.js';
import { CallAnnotationsController } from './call-annotations.controller.js';
import { CallAnnotationsService } from './call-annotations.service.js';
import { CallAttributionService } from './call-attribution.service.js';
import { CallEvaluationService } from './call-evaluation.service.js';
import { CallLookups } from './call-lookups.js';
import { CallsController } from './calls.controller.js';
import { EnquiriesController } from './enquiries.controller.js';
import { EnquiryAttributionService } from './enquiry-attribution.service.js';
import { EnquiryLookups } from './enquiry-lookups.js';
import { LeadProjection } from './lead-projection.js';
import { SERVICE_NAME, type AttributionConfig } from './config.js';
import { ConversionsApiGrpcController } from './conversions-api.grpc.js';
import { MarkovModelService } from './markov-model.service.js';
import { OpenApiController } from './openapi.controller.js';
import { AdCostsController } from './reports/ad-costs.controller.js';
import { ReportQueries } from './reports/report-queries.js';
import { ReportsController } from './reports/reports.controller.js';
import { VisitEnrichment } from './visit-enrichment.js';
import { RecomputeService } from './recompute.service.js';
import { ReevaluationSweepService } from './reevaluation-sweep.service.js';
import { StateProjectionService } from './state-projection.service.js';

@Module({})
export class AttributionModule {
  static register(config: AttributionConfig, logger: Logger): DynamicModule {
    return {
      module: AttributionModule,
      imports: [ServiceCoreModule.forRoot({ name: SERVICE_NAME, logger, config })],
      controllers: [
        OpenApiController,
        CallsController,
        AttributionAdminController,
        CallAnnotationsController,
        ConversionsApiGrpcController,
        EnquiriesController,
        AdCostsController,
        ReportsController,
      ],
      providers: [
        AttributionStore,
        VisitEnrichment,
        ReportQueries,
        SiteDirectory,
        AttributionSettingsService,
        CallLookups,
        EnquiryLookups,
        LeadProjection,
        MarkovModelService,
        CallEvaluationService,
        StateProjectionService,
        CallAttributionService,
        EnquiryAttributionService,
        CallAnnotationsService,
        RecomputeService,
        ReevaluationSweepService,
      ],
    };
  }
}
