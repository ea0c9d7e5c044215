import { bootService, type RunningService } from '@calltrack/service-kit';
import { SERVICE_NAME, type SessionTrackerConfig } from './config.js';
import { acceptJsonAsTextPlain } from './beacon-body.js';
import { SessionTrackerModule } from './session-tracker.module.js';

/** Starts session-tracker in this process (main.ts, the one-process embedded mode, tests). */
export async function startSessionTracker(config: SessionTrackerConfig): Promise<RunningService> {
  return bootService({
    name: SERVICE_NAME,
    config,
    module: (logger) => SessionTrackerModule.register(config, logger),
    bodyLimitBytes: config.SESSION_BODY_LIMIT_BYTES,
    cors: true,
    beforeListen: acceptJsonAsTextPlain,
  });
}
