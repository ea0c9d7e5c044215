import { bootService, type RunningService } from '@calltrack/service-kit';
import { SERVICE_NAME, type ConversionExportConfig } from './config.js';
import { ConversionExportModule } from './conversion-export.module.js';

/** Starts conversion-export in this process (main.ts, the one-process embedded mode, tests). */
export async function startConversionExport(config: ConversionExportConfig): Promise<RunningService> {
  return bootService({ name: SERVICE_NAME, config, module: (logger) => ConversionExportModule.register(config, logger) });
}
