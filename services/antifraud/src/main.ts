import { configOrExit } from '@calltrack/config';
import { runMain } from '@calltrack/service-kit';
import { createLogger } from '@calltrack/telemetry';
import { startAntifraud } from './antifraud.app.js';
import { loadAntifraudConfig, SERVICE_NAME } from './config.js';

const config = configOrExit(loadAntifraudConfig);
runMain(SERVICE_NAME, () => startAntifraud(config), createLogger(SERVICE_NAME, config.LOG_LEVEL), config.SHUTDOWN_TIMEOUT_MS);
