import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Module } from '@nestjs/common';
import { createLogger } from '@calltrack/telemetry';
import { HealthController } from './health.controller.js';
import { ReadinessService } from './readiness.service.js';
import { startService, type RunningService } from './service-bootstrap.js';

@Module({ controllers: [HealthController], providers: [ReadinessService] })
class HealthOnlyModule {}

describe('health endpoints', () => {
  let service: RunningService;
  let readiness: ReadinessService;
  const state = { joined: false, consumerLive: true };

  before(async () => {
    service = await startService({
      name: 'health-test',
      module: { module: HealthOnlyModule },
      logger: createLogger('health-test', 'silent'),
      host: '127.0.0.1',
      port: 0,
    });
    readiness = service.app.get(ReadinessService);
    readiness.register('kafka', () => state.joined);
    readiness.registerLiveness('kafka_consumers', () => state.consumerLive);
    readiness.registerLiveness('throws', () => {
      if (!state.consumerLive) throw new Error('boom');
      return true;
    });
  });
  after(async () => {
    await service.close();
  });

  const get = async (path: string) => {
    const res = await fetch(`${service.url}${path}`);
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  it('/healthz is 200 while the process is live, even when it is not ready (joining, rebuilding)', async () => {
    state.joined = false;
    state.consumerLive = true;
    assert.equal((await get('/readyz')).status, 503);
    const live = await get('/healthz');
    assert.equal(live.status, 200);
    assert.deepEqual(live.body, { status: 'ok', checks: { kafka_consumers: true, throws: true } });
    state.joined = true;
    assert.equal((await get('/readyz')).status, 200);
  });

  it('/healthz is 503 naming the check once a consumer is dead for good (a check that throws counts as failed)', async () => {
    state.consumerLive = false;
    const dead = await get('/healthz');
    assert.equal(dead.status, 503);
    assert.deepEqual(dead.body, { status: 'dead', checks: { kafka_consumers: false, throws: false } });
    state.consumerLive = true;
    assert.equal((await get('/healthz')).status, 200);
  });
});
