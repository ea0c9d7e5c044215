import { bootService, type RunningService } from '@calltrack/service-kit';
import { SERVICE_NAME, type TelephonyIngestConfig } from './config.js';
import { TelephonyIngestModule } from './telephony-ingest.module.js';

/** Starts telephony-ingest in this process (main.ts, the one-process embedded mode, tests). */
export async function startTelephonyIngest(config: TelephonyIngestConfig): Promise<RunningService> {
  return bootService({
    name: SERVICE_NAME,
    config,
    module: (logger) => TelephonyIngestModule.register(config, logger),
    bodyLimitBytes: config.WEBHOOK_BODY_LIMIT_BYTES,
  });
}
