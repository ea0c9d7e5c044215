import { Controller, Get, Param, UseGuards } from '@nestjs/common';
import { AdminTokenGuard, ZodValidationPipe } from '@calltrack/service-kit';
import { z } from 'zod';
import { ExportService } from './export.service.js';

const siteIdSchema = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'site id: 1-63 lowercase letters, digits, "-" or "_"');
const callIdSchema = z.string().min(1).max(200);

@Controller('v1/admin/sites/:siteId/deliveries')
@UseGuards(AdminTokenGuard)
export class DeliveriesAdminController {
  constructor(private readonly exports: ExportService) {}

  @Get()
  counts(@Param('siteId', new ZodValidationPipe(siteIdSchema, 'site id')) siteId: string): object {
    return { siteId, ...this.exports.state.countsFor(siteId) };
  }

  @Get(':callId')
  status(@Param('siteId', new ZodValidationPipe(siteIdSchema, 'site id')) siteId: string, @Param('callId', new ZodValidationPipe(callIdSchema, 'call id')) callId: string): object {
    return { siteId, callId, ...(this.exports.state.get(siteId, callId) ?? { status: 'unknown', attempts: 0 }) };
  }
}
