import { Module } from '@nestjs/common';
import { CallsModule } from '../../calls/calls.module.js';
import { WebhooksSharedModule } from '../shared/webhooks-shared.module.js';
import { SignedCallFeed } from './signed-call-feed.js';
import { ZadarmaWebhookController } from './zadarma-webhook.controller.js';

/** The Zadarma adapter (GET/POST /v1/webhooks/zadarma/:siteId), with the feed that keeps its calls' signed facts across restarts. */
@Module({
  imports: [WebhooksSharedModule, CallsModule],
  controllers: [ZadarmaWebhookController],
  providers: [SignedCallFeed],
})
export class ZadarmaWebhookModule {}
