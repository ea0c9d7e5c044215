import { configOrExit } from '@calltrack/config';
import { runMain } from '@calltrack/service-kit';
import { createLogger } from '@calltrack/telemetry';
import { loadConversionExportConfig, SERVICE_NAME } from './config.js';
import { startConversionExport } from './conversion-export.app.js';

const config = configOrExit(loadConversionExportConfig);
runMain(SERVICE_NAME, () => startConversionExport(config), createLogger(SERVICE_NAME, config.LOG_LEVEL), config.SHUTDOWN_TIMEOUT_MS);
