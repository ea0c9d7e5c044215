import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Controller, Get, Module, Param } from '@nestjs/common';
import { counter, createLogger, metricsRegistry } from '@calltrack/telemetry';
import { MetricsController } from './metrics.controller.js';
import { ReadinessService } from './readiness.service.js';
import { startService, type RunningService } from './service-bootstrap.js';

@Controller('v1/sites')
class SitesController {
  @Get(':siteId/things/:thingId')
  get(@Param('siteId') siteId: string): { siteId: string } {
    return { siteId };
  }
}

@Module({ controllers: [MetricsController, SitesController], providers: [ReadinessService] })
class MetricsOnlyModule {}

const valueOf = (text: string, series: string): number | undefined => {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

describe('GET /metrics and HTTP metrics', () => {
  let service: RunningService;

  before(async () => {
    service = await startService({
      name: 'metrics-test',
      module: { module: MetricsOnlyModule },
      logger: createLogger('metrics-test', 'silent'),
      host: '127.0.0.1',
      port: 0,
    });
  });
  after(async () => {
    await service.close();
  });

  it('serves the text format without a token, with the service label and Node default metrics', async () => {
    const res = await fetch(`${service.url}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    assert.match(text, /^process_resident_memory_bytes\{service="metrics-test"\} \d+/m);
    assert.match(text, /^nodejs_eventloop_lag_p99_seconds\{service="metrics-test"\} /m);
  });

  it('counts requests by route pattern, never by URL: ids in paths and unknown paths add no series', async () => {
    for (const id of ['site-a', 'site-b', 'site-c']) assert.equal((await fetch(`${service.url}/v1/sites/${id}/things/${id}-1`)).status, 200);
    for (const path of ['/wp-admin/1', '/wp-admin/2', '/.env']) assert.equal((await fetch(`${service.url}${path}`)).status, 404);
    const text = await (await fetch(`${service.url}/metrics`)).text();
    assert.equal(valueOf(text, 'calltrack_http_requests_total{route="/v1/sites/:siteId/things/:thingId",method="GET",status="200",service="metrics-test"}'), 3);
    assert.equal(valueOf(text, 'calltrack_http_requests_total{route="unmatched",method="GET",status="404",service="metrics-test"}'), 3);
    assert.equal(
      valueOf(text, 'calltrack_http_request_duration_seconds_count{service="metrics-test",route="/v1/sites/:siteId/things/:thingId",method="GET"}'),
      3,
    );
    assert.doesNotMatch(text, /site-a|wp-admin|\.env/);
  });

  it('one registry per process: a metric defined twice (two users in one process) is the same metric', () => {
    const a = counter({ name: 'calltrack_test_shared_total', help: 'test' });
    const b = counter({ name: 'calltrack_test_shared_total', help: 'test' });
    assert.equal(a, b);
    assert.equal(metricsRegistry.getSingleMetric('calltrack_test_shared_total'), a);
  });
});
