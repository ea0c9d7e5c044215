import { Module } from '@nestjs/common';
import { LeadsModule } from '../leads/leads.module.js';
import { ModelsModule } from '../models/models.module.js';
import { SettingsModule } from '../settings/settings.module.js';
import { StoreModule } from '../store/store.module.js';
import { CallPipeline } from './call-pipeline.js';
import { EnquiryPipeline } from './enquiry-pipeline.js';
import { EvaluationLock } from './evaluation-lock.js';

/** The call pipeline and the enquiry pipeline, and the lock every writer of calls and enquiries shares. */
@Module({
  imports: [StoreModule, SettingsModule, ModelsModule, LeadsModule],
  providers: [EvaluationLock, CallPipeline, EnquiryPipeline],
  exports: [EvaluationLock, CallPipeline, EnquiryPipeline],
})
export class PipelineModule {}
