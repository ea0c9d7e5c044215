import { Module } from '@nestjs/common';
import { SiteDirectory } from '@calltrack/service-kit';
import { AttributionSettingsService } from './attribution-settings.service.js';

/** Per-site attribution settings (the compacted settings topic) and the sites' numbers (SiteDirectory). */
@Module({ providers: [AttributionSettingsService, SiteDirectory], exports: [AttributionSettingsService, SiteDirectory] })
export class SettingsModule {}
