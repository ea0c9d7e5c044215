import { runMain } from '@calltrack/service-kit';
import { createLogger } from '@calltrack/telemetry';
import { loadTelephonyIngestConfig, SERVICE_NAME } from './config.js';
import { startTelephonyIngest } from './telephony-ingest.app.js';

const config = loadTelephonyIngestConfig();
runMain(SERVICE_NAME, () => startTelephonyIngest(config), createLogger(SERVICE_NAME, config.LOG_LEVEL), config.SHUTDOWN_TIMEOUT_MS);
