import { Module } from '@nestjs/common';
import { AttributionStore } from './attribution-store.js';
import { CallLookups } from './call-lookups.js';
import { EnquiryLookups } from './enquiry-lookups.js';

/** ClickHouse: the connection and schema, the writers, and the queries of calls, enquiries, leads and visits. */
@Module({ providers: [AttributionStore, CallLookups, EnquiryLookups], exports: [AttributionStore, CallLookups, EnquiryLookups] })
export class StoreModule {}
