import { startService, type RunningService } from '@calltrack/service-kit';
import { createLogger, initTelemetry } from '@calltrack/telemetry';
import { AttributionModule } from './attribution.module.js';
import { SERVICE_NAME, type AttributionConfig } from './config.js';

/** Starts attribution in this process (main.ts, the one-process embedded mode, tests). */
export async function startAttribution(config: AttributionConfig): Promise<RunningService> {
  initTelemetry({ serviceName: SERVICE_NAME });
  const logger = createLogger(SERVICE_NAME, config.LOG_LEVEL);
  return startService({ name: SERVICE_NAME, module: AttributionModule.register(config, logger), logger, host: config.HTTP_HOST, port: config.PORT });
}
