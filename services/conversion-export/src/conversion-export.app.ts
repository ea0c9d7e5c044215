import { startService, type RunningService } from '@calltrack/service-kit';
import { createLogger, initTelemetry } from '@calltrack/telemetry';
import { SERVICE_NAME, type ConversionExportConfig } from './config.js';
import { ConversionExportModule } from './conversion-export.module.js';

/** Starts conversion-export in this process (main.ts, the one-process embedded mode, tests). */
export async function startConversionExport(config: ConversionExportConfig): Promise<RunningService> {
  initTelemetry({ serviceName: SERVICE_NAME });
  const logger = createLogger(SERVICE_NAME, config.LOG_LEVEL);
  return startService({ name: SERVICE_NAME, module: ConversionExportModule.register(config, logger), logger, host: config.HTTP_HOST, port: config.PORT });
}
