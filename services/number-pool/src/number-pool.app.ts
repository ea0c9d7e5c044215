import { bootService, type RunningService } from '@calltrack/service-kit';
import { SERVICE_NAME, type NumberPoolConfig } from './config.js';
import { NumberPoolModule } from './number-pool.module.js';

/** Starts number-pool in this process (main.ts, the one-process embedded mode, tests). */
export async function startNumberPool(config: NumberPoolConfig): Promise<RunningService> {
  // Admin bodies carry whole pools (up to 10,000 numbers).
  return bootService({ name: SERVICE_NAME, config, module: (logger) => NumberPoolModule.register(config, logger), bodyLimitBytes: 1024 * 1024 });
}
