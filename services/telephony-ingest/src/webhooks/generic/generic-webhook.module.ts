import { Module } from '@nestjs/common';
import { CallsModule } from '../../calls/calls.module.js';
import { SitesModule } from '../../sites/sites.module.js';
import { WebhooksSharedModule } from '../shared/webhooks-shared.module.js';
import { GenericWebhookController } from './generic-webhook.controller.js';

/** The provider-neutral call webhook (POST /v1/webhooks/generic/:siteId). */
@Module({
  imports: [SitesModule, CallsModule, WebhooksSharedModule],
  controllers: [GenericWebhookController],
})
export class GenericWebhookModule {}
