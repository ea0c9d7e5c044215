import { Module } from '@nestjs/common';
import { CallsModule } from '../calls/calls.module.js';
import { SitesModule } from '../sites/sites.module.js';
import { WebhooksSharedModule } from '../webhooks/shared/webhooks-shared.module.js';
import { AsteriskAmiService } from './asterisk-ami.service.js';

/** Asterisk PBXes followed over AMI (ASTERISK_AMI_PBXES); their connections are shown by the admin API. */
@Module({
  imports: [SitesModule, CallsModule, WebhooksSharedModule],
  providers: [AsteriskAmiService],
  exports: [AsteriskAmiService],
})
export class AsteriskModule {}
