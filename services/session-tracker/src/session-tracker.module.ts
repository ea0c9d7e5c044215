import { Module, type DynamicModule } from '@nestjs/common';
import { ServiceCoreModule, SiteDirectory } from '@calltrack/service-kit';
import type { Logger } from '@calltrack/telemetry';
import { SERVICE_NAME, type SessionTrackerConfig } from './config.js';
import { ClientAddressKeys } from './client-address-key.js';
import { SessionIds } from './session-ids.js';
import { FlaggedVisitorsService } from './flagged-visitors.service.js';
import { LeaseRepliesService } from './lease-replies.service.js';
import { SessionsController } from './sessions.controller.js';
import { TrackerScriptController } from './tracker-script.controller.js';

@Module({})
export class SessionTrackerModule {
  static register(config: SessionTrackerConfig, logger: Logger): DynamicModule {
    return {
      module: SessionTrackerModule,
      imports: [ServiceCoreModule.forRoot({ name: SERVICE_NAME, logger, config })],
      controllers: [SessionsController, TrackerScriptController],
      providers: [SiteDirectory, LeaseRepliesService, FlaggedVisitorsService, ClientAddressKeys, SessionIds],
    };
  }
}
