export { StoreModule } from './store.module.js';
export { AttributionStore, LEASE_LOOKBACK_MS } from './attribution-store.js';
export { CallLookups } from './call-lookups.js';
export { EnquiryLookups } from './enquiry-lookups.js';
export { clickHouseConnection, migrateMode, MIGRATIONS_DIR } from './clickhouse-connection.js';
export { nullableNum, num, str, TIME } from './values.js';
export type * from './rows.js';
export { enquiryConversionId } from './rows.js';
