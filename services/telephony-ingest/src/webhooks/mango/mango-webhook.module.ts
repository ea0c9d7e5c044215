import { Module } from '@nestjs/common';
import { WebhooksSharedModule } from '../shared/webhooks-shared.module.js';
import { MangoWebhookController } from './mango-webhook.controller.js';

/** The Mango Office adapter (POST /v1/webhooks/mango/:siteId…). */
@Module({
  imports: [WebhooksSharedModule],
  controllers: [MangoWebhookController],
})
export class MangoWebhookModule {}
