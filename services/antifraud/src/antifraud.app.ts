import { bootService, type RunningService } from '@calltrack/service-kit';
import { AntifraudModule } from './antifraud.module.js';
import { SERVICE_NAME, type AntifraudConfig } from './config.js';

/** Starts antifraud in this process (main.ts, the one-process embedded mode, tests). */
export async function startAntifraud(config: AntifraudConfig): Promise<RunningService> {
  return bootService({ name: SERVICE_NAME, config, module: (logger) => AntifraudModule.register(config, logger) });
}
