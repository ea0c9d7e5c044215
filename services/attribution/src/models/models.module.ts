import { Module } from '@nestjs/common';
import { SettingsModule } from '../settings/settings.module.js';
import { StoreModule } from '../store/store.module.js';
import { MarkovModelService } from './markov-model.service.js';

/** The attribution models: the pure credit rules (attribution-models.ts, call-credits.ts) and the learnt data-driven (Markov) model. */
@Module({ imports: [StoreModule, SettingsModule], providers: [MarkovModelService], exports: [MarkovModelService] })
export class ModelsModule {}
