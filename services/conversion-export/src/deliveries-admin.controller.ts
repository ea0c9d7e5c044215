import { Controller, Get, Param, UseGuards } from '@nestjs/common';
import { AdminTokenGuard, siteIdPipe, ZodValidationPipe } from '@calltrack/service-kit';
import { z } from 'zod';
import { ExportService } from './export.service.js';

const callIdSchema = z.string().min(1).max(200);

@Controller('v1/admin/sites/:siteId/deliveries')
@UseGuards(AdminTokenGuard)
export class DeliveriesAdminController {
  constructor(private readonly exports: ExportService) {}

  @Get()
  counts(@Param('siteId', siteIdPipe) siteId: string): object {
    return { siteId, ...this.exports.state.countsFor(siteId) };
  }

  @Get(':callId')
  status(@Param('siteId', siteIdPipe) siteId: string, @Param('callId', new ZodValidationPipe(callIdSchema, 'call id')) callId: string): object {
    return { siteId, callId, ...(this.exports.state.get(siteId, callId) ?? { status: 'unknown', attempts: 0 }) };
  }
}
