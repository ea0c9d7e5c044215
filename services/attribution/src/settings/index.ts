export { SettingsModule } from './settings.module.js';
export { AttributionSettingsService } from './attribution-settings.service.js';
export * from './attribution-settings.js';
