import { bootService, type RunningService } from '@calltrack/service-kit';
import { AttributionModule } from './attribution.module.js';
import { SERVICE_NAME, type AttributionConfig } from './config.js';

/** Starts attribution in this process (main.ts, the one-process embedded mode, tests). */
export async function startAttribution(config: AttributionConfig): Promise<RunningService> {
  return bootService({ name: SERVICE_NAME, config, module: (logger) => AttributionModule.register(config, logger) });
}
