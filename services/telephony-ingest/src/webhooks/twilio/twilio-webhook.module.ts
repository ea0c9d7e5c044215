import { Module } from '@nestjs/common';
import { WebhooksSharedModule } from '../shared/webhooks-shared.module.js';
import { TwilioWebhookController } from './twilio-webhook.controller.js';

/** The Twilio adapter (POST /v1/webhooks/twilio/:siteId…). */
@Module({
  imports: [WebhooksSharedModule],
  controllers: [TwilioWebhookController],
})
export class TwilioWebhookModule {}
