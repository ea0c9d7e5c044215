import { startService, type RunningService } from '@calltrack/service-kit';
import { createLogger, initTelemetry } from '@calltrack/telemetry';
import { SERVICE_NAME, type TelephonyIngestConfig } from './config.js';
import { TelephonyIngestModule } from './telephony-ingest.module.js';

/** Starts telephony-ingest in this process (main.ts, the one-process embedded mode, tests). */
export async function startTelephonyIngest(config: TelephonyIngestConfig): Promise<RunningService> {
  initTelemetry({ serviceName: SERVICE_NAME });
  const logger = createLogger(SERVICE_NAME, config.LOG_LEVEL);
  return startService({
    name: SERVICE_NAME,
    module: TelephonyIngestModule.register(config, logger),
    logger,
    host: config.HTTP_HOST,
    port: config.PORT,
    bodyLimitBytes: config.WEBHOOK_BODY_LIMIT_BYTES,
  });
}
