export {
  ClickHouse,
  createClickHouse,
  EmbeddedEngineConflictError,
  EmbeddedEngineUnavailableError,
  toJsonEachRow,
  type ClickHouseOptions,
  type InsertOptions,
  type QueryParams,
} from './clickhouse-client.js';
export { MigrationError, readMigrations, runMigrations, splitStatements, type MigrationFile, type MigrationLog } from './migration-runner.js';
export { BatchWriter, type BatchWriteResult, type BatchWriterOptions } from './batch-writer.js';
export { loadChdb } from './embedded-engine.js';
