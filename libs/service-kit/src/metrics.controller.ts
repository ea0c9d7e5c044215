import { Controller, Get, Res } from '@nestjs/common';
import { renderMetrics } from '@calltrack/telemetry';
import type { FastifyReply } from 'fastify';

@Controller()
export class MetricsController {
  /**
   * Prometheus scrape endpoint, on the service's HTTP port without the admin token: it holds
   * counters and gauges with bounded labels only (route patterns, topics, reasons), no ids,
   * no personal data and no configuration values. The chart's ingress routes only /v1/...
   * paths, so it is reached from inside the cluster (ServiceMonitor), not from the internet.
   */
  @Get('metrics')
  async metrics(@Res() reply: FastifyReply): Promise<void> {
    const { contentType, body } = await renderMetrics();
    await reply.header('content-type', contentType).header('cache-control', 'no-store').send(body);
  }
}
