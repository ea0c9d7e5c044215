import { Module } from '@nestjs/common';
import { ModelsModule } from '../models/models.module.js';
import { ReplayModule } from '../replay/replay.module.js';
import { SettingsModule } from '../settings/settings.module.js';
import { StoreModule } from '../store/store.module.js';
import { AttributionAdminController } from './attribution-admin.controller.js';
import { CallAnnotationsController } from './call-annotations.controller.js';
import { CallAnnotationsService } from './call-annotations.service.js';
import { CallsController } from './calls.controller.js';
import { ConversionsApiGrpcController } from './conversions-api.grpc.js';
import { EnquiriesController } from './enquiries.controller.js';
import { OpenApiController } from './openapi.controller.js';

export const API_CONTROLLERS = [
  OpenApiController,
  CallsController,
  AttributionAdminController,
  CallAnnotationsController,
  ConversionsApiGrpcController,
  EnquiriesController,
];

/** The HTTP API (calls, enquiries, settings, recomputes, annotations, the OpenAPI document) and the gRPC conversions API. */
@Module({ imports: [StoreModule, SettingsModule, ModelsModule, ReplayModule], controllers: API_CONTROLLERS, providers: [CallAnnotationsService] })
export class ApiModule {}
