import { Module } from '@nestjs/common';
import { PipelineModule } from '../pipeline/pipeline.module.js';
import { StoreModule } from '../store/store.module.js';
import { CallsConsumer } from './calls.consumer.js';
import { EnquiriesConsumer } from './enquiries.consumer.js';
import { StateConsumer } from './state.consumer.js';
import { VisitEnrichment } from './visit-enrichment.js';

/** The Kafka consumers, one per topic group: screened calls, enquiries, and the state the matching reads (visits, leases, redemptions, tags, costs). */
@Module({ imports: [StoreModule, PipelineModule], providers: [CallsConsumer, EnquiriesConsumer, StateConsumer, VisitEnrichment] })
export class ConsumersModule {}
