import { Module } from '@nestjs/common';
import { SitesModule } from '../sites/sites.module.js';
import { WebhooksSharedModule } from '../webhooks/shared/webhooks-shared.module.js';
import { EnquiriesController } from './enquiries.controller.js';

/** The enquiry API (POST /v1/sites/:siteId/enquiries), signed with the site's generic-webhook secret. */
@Module({
  imports: [SitesModule, WebhooksSharedModule],
  controllers: [EnquiriesController],
})
export class EnquiriesModule {}
