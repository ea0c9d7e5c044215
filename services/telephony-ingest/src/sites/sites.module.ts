import { Module } from '@nestjs/common';
import { IngestStateService } from './ingest-state.service.js';

/** What telephony-ingest knows of each site (country, time zone, default number, webhook secret, provider credentials), rebuilt from Kafka. */
@Module({
  providers: [IngestStateService],
  exports: [IngestStateService],
})
export class SitesModule {}
