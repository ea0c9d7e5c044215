import { startService, type RunningService } from '@calltrack/service-kit';
import { createLogger, initTelemetry } from '@calltrack/telemetry';
import { AntifraudModule } from './antifraud.module.js';
import { SERVICE_NAME, type AntifraudConfig } from './config.js';

/** Starts antifraud in this process (main.ts, the one-process embedded mode, tests). */
export async function startAntifraud(config: AntifraudConfig): Promise<RunningService> {
  initTelemetry({ serviceName: SERVICE_NAME });
  const logger = createLogger(SERVICE_NAME, config.LOG_LEVEL);
  return startService({ name: SERVICE_NAME, module: AntifraudModule.register(config, logger), logger, host: config.HTTP_HOST, port: config.PORT });
}
