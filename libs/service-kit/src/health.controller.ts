import { Controller, Get, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { ReadinessService } from './readiness.service.js';

@Controller()
export class HealthController {
  constructor(private readonly readiness: ReadinessService) {}

  /** Liveness: the process serves requests. */
  @Get('healthz')
  health(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** Readiness: every registered dependency check passes; 503 otherwise, with the failing checks. */
  @Get('readyz')
  async ready(@Res() reply: FastifyReply): Promise<void> {
    const status = await this.readiness.status();
    await reply.status(status.ready ? 200 : 503).send(status);
  }
}
