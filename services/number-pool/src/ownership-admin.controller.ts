import { Controller, Get, HttpCode, Post, UseGuards } from '@nestjs/common';
import { AdminTokenGuard } from '@calltrack/service-kit';
import { PoolService } from './pool.service.js';

/** Which sites' partitions this instance writes for: what an operator checks after scaling or a rebalance. */
@Controller('v1/admin/ownership')
@UseGuards(AdminTokenGuard)
export class OwnershipAdminController {
  constructor(private readonly pools: PoolService) {}

  @Get()
  get(): ReturnType<PoolService['ownership']> {
    return this.pools.ownership();
  }

  /** Snapshots now every owned partition that changed since its last snapshot (before maintenance, benchmarks). */
  @Post('snapshots')
  @HttpCode(200)
  async snapshot(): Promise<{ written: number[] }> {
    return { written: await this.pools.snapshotAll() };
  }
}
