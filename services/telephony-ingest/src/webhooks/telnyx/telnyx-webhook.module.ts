import { Module } from '@nestjs/common';
import { WebhooksSharedModule } from '../shared/webhooks-shared.module.js';
import { TelnyxWebhookController } from './telnyx-webhook.controller.js';

/** The Telnyx adapter (POST /v1/webhooks/telnyx/:siteId…). */
@Module({
  imports: [WebhooksSharedModule],
  controllers: [TelnyxWebhookController],
})
export class TelnyxWebhookModule {}
