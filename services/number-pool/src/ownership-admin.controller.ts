import { Controller, Get, UseGuards } from '@nestjs/common';
import { AdminTokenGuard } from '@calltrack/service-kit';
import { PoolService } from './pool.service.js';

/** Which sites' partitions this instance writes for: what an operator checks after scaling or a rebalance. */
@Controller('v1/admin/ownership')
@UseGuards(AdminTokenGuard)
export class OwnershipAdminController {
  constructor(private readonly pools: PoolService) {}

  @Get()
  get(): { partitions: number[]; restoring: number[] } {
    return this.pools.ownership();
  }
}
