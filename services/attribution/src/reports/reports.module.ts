import { Module } from '@nestjs/common';
import { ModelsModule } from '../models/models.module.js';
import { SettingsModule } from '../settings/settings.module.js';
import { StoreModule } from '../store/store.module.js';
import { AdCostsController } from './ad-costs.controller.js';
import { ReportQueries } from './report-queries.js';
import { ReportsController } from './reports.controller.js';

export const REPORT_CONTROLLERS = [AdCostsController, ReportsController];

/** The reports (channels, campaigns, leads, people, ad costs and revenue) over the stored calls and enquiries. */
@Module({ imports: [StoreModule, SettingsModule, ModelsModule], controllers: REPORT_CONTROLLERS, providers: [ReportQueries] })
export class ReportsModule {}
