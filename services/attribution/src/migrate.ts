// The ClickHouse migrations command: `npm run migrate` locally, `node services/attribution/dist/migrate.js`
// in the image (the Helm migrations Job). Creates CLICKHOUSE_DATABASE when missing and applies
// services/attribution/migrations under the database's migration lock: run it as often and from as many
// places at once as you like, each migration is applied once. Exit 0 when the schema is up to date,
// 1 on a failure (the reason is logged), 78 on an invalid configuration.
import { migrateDatabase } from '@calltrack/clickhouse';
import { configOrExit, loadConfig } from '@calltrack/config';
import { createLogger } from '@calltrack/telemetry';
import { clickHouseConnection, MIGRATIONS_DIR } from './store/clickhouse-connection.js';
import { attributionConfigSchema } from './config.js';

// Only the variables the migrations need (no ADMIN_TOKEN, no Kafka): the same names and rules as the service's.
const migrateConfigSchema = attributionConfigSchema.pick({
  LOG_LEVEL: true,
  CLICKHOUSE_URL: true,
  CLICKHOUSE_USER: true,
  CLICKHOUSE_PASSWORD: true,
  CLICKHOUSE_DATABASE: true,
  CLICKHOUSE_DATA_DIR: true,
  CLICKHOUSE_MIGRATION_TIMEOUT_SECONDS: true,
});

const config = configOrExit(() => loadConfig('attribution-migrate', migrateConfigSchema));
const logger = createLogger('attribution-migrate', config.LOG_LEVEL);
try {
  const applied = await migrateDatabase({
    connection: clickHouseConnection(config),
    database: config.CLICKHOUSE_DATABASE,
    dir: MIGRATIONS_DIR,
    timeoutSeconds: config.CLICKHOUSE_MIGRATION_TIMEOUT_SECONDS,
    log: (event, fields) => logger.info({ event: event.replace(/\./g, '_'), ...fields }),
  });
  logger.info({ event: 'clickhouse_migrated', database: config.CLICKHOUSE_DATABASE, mode: config.CLICKHOUSE_URL ? 'server' : 'embedded', applied });
} catch (err) {
  logger.error({ event: 'clickhouse_migration_failed', database: config.CLICKHOUSE_DATABASE, err });
  process.exitCode = 1;
}
