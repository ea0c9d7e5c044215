export {
  ClickHouse,
  createClickHouse,
  EmbeddedEngineConflictError,
  EmbeddedEngineUnavailableError,
  toJsonEachRow,
  type ClickHouseOptions,
  type CommandOptions,
  type InsertOptions,
  type QueryParams,
} from './clickhouse-client.js';
export {
  DEFAULT_MIGRATION_TIMEOUT_SECONDS,
  MigrationError,
  readMigrations,
  runMigrations,
  schemaStatus,
  splitStatements,
  type MigrationClient,
  type MigrationFile,
  type MigrationLog,
  type RunMigrationsOptions,
  type SchemaStatus,
} from './migration-runner.js';
export {
  acquireMigrationLock,
  LOCK_TABLE_PREFIX,
  MigrationLockLostError,
  MigrationLockTimeoutError,
  type HeldMigrationLock,
  type MigrationLockOptions,
} from './migration-lock.js';
export { migrateDatabase, waitForSchema, type MigrateDatabaseOptions, type WaitForSchemaOptions } from './migrate-database.js';
export { BatchWriter, type BatchWriteResult, type BatchWriterOptions } from './batch-writer.js';
export { loadChdb } from './embedded-engine.js';
