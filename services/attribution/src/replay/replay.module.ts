import { Module } from '@nestjs/common';
import { ModelsModule } from '../models/models.module.js';
import { PipelineModule } from '../pipeline/pipeline.module.js';
import { SettingsModule } from '../settings/settings.module.js';
import { StoreModule } from '../store/store.module.js';
import { RecomputeService } from './recompute.service.js';
import { ReevaluationSweepService } from './reevaluation-sweep.service.js';

/** Stored calls and enquiries evaluated again: a recompute of a site under new settings, and the sweep of passed call-back windows and late redemptions. */
@Module({
  imports: [StoreModule, SettingsModule, ModelsModule, PipelineModule],
  providers: [RecomputeService, ReevaluationSweepService],
  exports: [RecomputeService],
})
export class ReplayModule {}
