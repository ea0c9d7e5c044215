import { Module, type DynamicModule } from '@nestjs/common';
import { ServiceCoreModule, SiteDirectory } from '@calltrack/service-kit';
import type { Logger } from '@calltrack/telemetry';
import { AttributionAdminController } from './api/attribution-admin.controller.js';
import { AttributionSettingsService } from './settings/attribution-settings.service.js';
import { AttributionStore } from './store/attribution-store.js';
import { CallAnnotationsController } from './api/call-annotations.controller.js';
import { CallAnnotationsService } from './api/call-annotations.service.js';
import { CallAttributionService } from './consumers/calls.consumer.js';
import { CallEvaluationService } from './pipeline/call-evaluation.service.js';
import { CallLookups } from './store/call-lookups.js';
import { CallsController } from './api/calls.controller.js';
import { EnquiriesController } from './api/enquiries.controller.js';
import { EnquiryAttributionService } from './pipeline/enquiry-attribution.service.js';
import { EnquiryLookups } from './store/enquiry-lookups.js';
import { LeadProjection } from './leads/lead-projection.js';
import { SERVICE_NAME, type AttributionConfig } from './config.js';
import { ConversionsApiGrpcController } from './api/conversions-api.grpc.js';
import { MarkovModelService } from './models/markov-model.service.js';
import { OpenApiController } from './api/openapi.controller.js';
import { AdCostsController } from './reports/ad-costs.controller.js';
import { ReportQueries } from './reports/report-queries.js';
import { ReportsController } from './reports/reports.controller.js';
import { VisitEnrichment } from './consumers/visit-enrichment.js';
import { RecomputeService } from './replay/recompute.service.js';
import { ReevaluationSweepService } from './replay/reevaluation-sweep.service.js';
import { StateProjectionService } from './consumers/state.consumer.js';

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
