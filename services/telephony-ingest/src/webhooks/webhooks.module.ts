import { Module } from '@nestjs/common';
import { GenericWebhookModule } from './generic/generic-webhook.module.js';
import { MangoWebhookModule } from './mango/mango-webhook.module.js';
import { TelnyxWebhookModule } from './telnyx/telnyx-webhook.module.js';
import { TwilioWebhookModule } from './twilio/twilio-webhook.module.js';
import { ZadarmaWebhookModule } from './zadarma/zadarma-webhook.module.js';

/** Every call webhook: the generic one and one module per provider adapter. */
@Module({
  imports: [GenericWebhookModule, TwilioWebhookModule, ZadarmaWebhookModule, MangoWebhookModule, TelnyxWebhookModule],
})
export class WebhooksModule {}
