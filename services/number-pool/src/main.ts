import { configOrExit } from '@calltrack/config';
import { runMain } from '@calltrack/service-kit';
import { createLogger } from '@calltrack/telemetry';
import { loadNumberPoolConfig, SERVICE_NAME } from './config.js';
import { startNumberPool } from './number-pool.app.js';

const config = configOrExit(loadNumberPoolConfig);
runMain(SERVICE_NAME, () => startNumberPool(config), createLogger(SERVICE_NAME, config.LOG_LEVEL), config.SHUTDOWN_TIMEOUT_MS);
