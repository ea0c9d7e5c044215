import { configOrExit } from '@calltrack/config';
import { runMain } from '@calltrack/service-kit';
import { createLogger } from '@calltrack/telemetry';
import { loadSessionTrackerConfig, SERVICE_NAME } from './config.js';
import { startSessionTracker } from './session-tracker.app.js';

const config = configOrExit(loadSessionTrackerConfig);
runMain(SERVICE_NAME, () => startSessionTracker(config), createLogger(SERVICE_NAME, config.LOG_LEVEL), config.SHUTDOWN_TIMEOUT_MS);
