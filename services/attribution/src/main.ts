import { configOrExit } from '@calltrack/config';
import { runMain } from '@calltrack/service-kit';
import { createLogger } from '@calltrack/telemetry';
import { startAttribution } from './attribution.app.js';
import { loadAttributionConfig, SERVICE_NAME } from './config.js';

const config = configOrExit(loadAttributionConfig);
runMain(SERVICE_NAME, () => startAttribution(config), createLogger(SERVICE_NAME, config.LOG_LEVEL), config.SHUTDOWN_TIMEOUT_MS);
