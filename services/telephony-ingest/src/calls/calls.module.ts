import { Module } from '@nestjs/common';
import { CallReports } from './call-reports.service.js';

/** The call model and the one way every adapter reports a call on the calls topic (CallReports). */
@Module({
  providers: [CallReports],
  exports: [CallReports],
})
export class CallsModule {}
