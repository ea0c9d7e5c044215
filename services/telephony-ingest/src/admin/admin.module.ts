import { Module } from '@nestjs/common';
import { AsteriskModule } from '../asterisk/asterisk.module.js';
import { SitesModule } from '../sites/sites.module.js';
import { WebhooksSharedModule } from '../webhooks/shared/webhooks-shared.module.js';
import { ProviderAdminController } from './provider-admin.controller.js';
import { WebhookAdminController } from './webhook-admin.controller.js';

/** The operators' API (admin token): webhook secrets, provider credentials, webhook stats. */
@Module({
  imports: [SitesModule, WebhooksSharedModule, AsteriskModule],
  controllers: [WebhookAdminController, ProviderAdminController],
})
export class AdminModule {}
