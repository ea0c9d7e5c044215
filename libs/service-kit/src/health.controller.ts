import { Controller, Get, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { ReadinessService } from './readiness.service.js';

@Controller()
export class HealthController {
  constructor(private readonly readiness: ReadinessService) {}

  /**
   * Liveness: the process serves requests and nothing in it is dead for good (a Kafka
   * consumer that crashed and could not be restarted); 503 with the failing checks otherwise,
   * so the orchestrator restarts it.
   */
  @Get('healthz')
  async health(@Res() reply: FastifyReply): Promise<void> {
    const { live, checks } = await this.readiness.liveness();
    await reply.status(live ? 200 : 503).send({ status: live ? 'ok' : 'dead', checks });
  }

  /** Readiness: every registered dependency check passes; 503 otherwise, with the failing checks. */
  @Get('readyz')
  async ready(@Res() reply: FastifyReply): Promise<void> {
    const status = await this.readiness.status();
    await reply.status(status.ready ? 200 : 503).send(status);
  }
}
