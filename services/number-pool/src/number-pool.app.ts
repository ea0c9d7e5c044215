import { startService, type RunningService } from '@calltrack/service-kit';
import { createLogger, initTelemetry } from '@calltrack/telemetry';
import { SERVICE_NAME, type NumberPoolConfig } from './config.js';
import { NumberPoolModule } from './number-pool.module.js';

/** Starts number-pool in this process (main.ts, the one-process embedded mode, tests). */
export async function startNumberPool(config: NumberPoolConfig): Promise<RunningService> {
  initTelemetry({ serviceName: SERVICE_NAME });
  const logger = createLogger(SERVICE_NAME, config.LOG_LEVEL);
  // Admin bodies carry whole pools (up to 10,000 numbers).
  return startService({ name: SERVICE_NAME, module: NumberPoolModule.register(config, logger), logger, host: config.HTTP_HOST, port: config.PORT, bodyLimitBytes: 1024 * 1024 });
}
