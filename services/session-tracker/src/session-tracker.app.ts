import { startService, type RunningService } from '@calltrack/service-kit';
import { createLogger, initTelemetry } from '@calltrack/telemetry';
import { SERVICE_NAME, type SessionTrackerConfig } from './config.js';
import { SessionTrackerModule } from './session-tracker.module.js';

/** Starts session-tracker in this process (main.ts, the one-process embedded mode, tests). */
export async function startSessionTracker(config: SessionTrackerConfig): Promise<RunningService> {
  initTelemetry({ serviceName: SERVICE_NAME });
  const logger = createLogger(SERVICE_NAME, config.LOG_LEVEL);
  return startService({
    name: SERVICE_NAME,
    module: SessionTrackerModule.register(config, logger),
    logger,
    host: config.HTTP_HOST,
    port: config.PORT,
    bodyLimitBytes: config.SESSION_BODY_LIMIT_BYTES,
    cors: true,
  });
}
