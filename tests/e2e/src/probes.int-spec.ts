// Probes that tell the truth, on the real broker and the real ClickHouse engine:
// - a consumer dead for good makes /healthz 503 (and calltrack_consumer_up 0);
// - a consumer with records waiting that makes no progress makes /healthz 503 after
//   KAFKA_CONSUMER_STALL_SECONDS, and 200 again once it moves;
// - attribution in server mode against a ClickHouse that stops answering (the embedded engine
//   served over HTTP by its own process, frozen with SIGSTOP) is unready, calltrack_clickhouse_up 0,
//   and ready again once ClickHouse answers.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { Inject, Module, type OnApplicationBootstrap } from '@nestjs/common';
import { createEvent } from '@calltrack/contracts';
import { KafkaBus, type KafkaSettings } from '@calltrack/kafka';
import { ServiceCoreModule, startService, type RunningService } from '@calltrack/service-kit';
import { createKafkaTestEnv, freePort, ServiceProcess, testLogger, waitFor, type KafkaTestEnv } from '@calltrack/testing';
import { parseScrape } from './metric-names.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const blocked = (phone: string) => createEvent('CallerBlocked', { phone, reason: 'probe test' }, { siteId: 'probe-site', producer: 'test' });

const get = async (url: string): Promise<{ status: number; body: { checks?: Record<string, boolean> } }> => {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as { checks?: Record<string, boolean> } };
};
const gauge = async (url: string, name: string, labels: Record<string, string> = {}): Promise<number | undefined> => {
  const samples = parseScrape(await (await fetch(`${url}/metrics`)).text());
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
};

/** A service with one consumer (options from the test), started in this process like any service. */
async function serviceWithConsumer(name: string, settings: KafkaSettings, consumer: Parameters<KafkaBus['consumer']>[0]): Promise<RunningService> {
  class ConsumerHolder implements OnApplicationBootstrap {
    constructor(@Inject(KafkaBus) private readonly bus: KafkaBus) {}
    async onApplicationBootstrap(): Promise<void> {
      await this.bus.consumer(consumer).start();
    }
  }
  @Module({})
  class ProbeModule {}
  return startService({
    name,
    module: {
      module: ProbeModule,
      imports: [
        ServiceCoreModule.forRoot({
          name,
          logger: testLogger,
          config: { KAFKA_BROKERS: settings.brokers.join(','), KAFKA_TOPIC_PREFIX: settings.prefix },
          kafka: settings,
        }),
      ],
      providers: [ConsumerHolder],
    },
    logger: testLogger,
    host: '127.0.0.1',
    port: 0,
  });
}

describe('liveness and readiness probes', () => {
  let env: KafkaTestEnv;

  before(async () => {
    env = await createKafkaTestEnv('probes');
  });

  it('a consumer that cannot be restarted: /healthz 503 naming it, calltrack_consumer_up 0', async () => {
    const service = await serviceWithConsumer(
      'probes-dead',
      { ...env.settings, clientId: 'probes-dead', sessionTimeoutMs: 6_000 },
      {
        groupId: 'probes.dead',
        topics: ['antifraudBlocklist'],
        maxRestarts: 1,
        // A throwing assignment callback makes kafkajs crash without restarting, every time.
        onAssignment: () => {
          throw new Error('assignment always fails');
        },
        handle: async () => undefined,
      },
    );
    try {
      const dead = await waitFor(
        async () => {
          const r = await get(`${service.url}/healthz`);
          return r.status === 503 ? r : undefined;
        },
        { what: '/healthz to fail', timeoutMs: 60_000 },
      );
      assert.equal(dead.body.checks?.['kafka_consumers'], false);
      assert.equal(await gauge(service.url, 'calltrack_consumer_up', { group: 'probes.dead' }), 0);
      assert.ok(((await gauge(service.url, 'calltrack_consumer_restarts_total', { group: 'probes.dead' })) ?? 0) >= 1);
    } finally {
      await service.close();
    }
  });

  it('a consumer with records waiting and no progress: /healthz 503 after the stall time, 200 again once it moves', async () => {
    const stuck = blocked('+74951000101');
    let entered = false;
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const service = await serviceWithConsumer(
      'probes-stall',
      { ...env.settings, clientId: 'probes-stall', sessionTimeoutMs: 6_000, consumerStallMs: 3_000 },
      {
        groupId: 'probes.stall',
        topics: ['antifraudBlocklist'],
        fromBeginning: true,
        // A handler that hangs (a lost connection without a timeout), neither failing nor heartbeating.
        handle: async (r) => {
          if (r.event.eventId !== stuck.eventId) return;
          entered = true;
          await released;
        },
      },
    );
    try {
      await waitFor(async () => (await get(`${service.url}/readyz`)).status === 200, { what: 'the consumer to join', timeoutMs: 60_000 });
      assert.equal((await get(`${service.url}/healthz`)).status, 200, 'idle without lag is live');
      const bus = service.app.get(KafkaBus);
      await bus.producer.publish('antifraudBlocklist', 'stall-key', stuck);
      await waitFor(() => entered, { what: 'the handler to hang on the record', timeoutMs: 30_000 });
      const stalled = await waitFor(
        async () => {
          const r = await get(`${service.url}/healthz`);
          return r.status === 503 ? r : undefined;
        },
        { what: '/healthz to fail after the stall time', timeoutMs: 30_000 },
      );
      assert.equal(stalled.body.checks?.['kafka_consumers'], false);
      const lag = parseScrape(await (await fetch(`${service.url}/metrics`)).text()).filter(
        (s) => s.name === 'calltrack_consumer_lag' && s.labels['group'] === 'probes.stall',
      );
      assert.ok(
        lag.some((s) => s.value >= 1),
        `lag of the stuck partition: ${JSON.stringify(lag)}`,
      );
      release();
      await waitFor(async () => (await get(`${service.url}/healthz`)).status === 200, {
        what: '/healthz to recover once the record is handled',
        timeoutMs: 30_000,
      });
      await waitFor(
        async () =>
          (await gauge(service.url, 'calltrack_consumer_lag', {
            group: 'probes.stall',
            partition: String(lag.find((s) => s.value >= 1)!.labels['partition']),
          })) === 0,
        {
          what: 'the lag back to 0',
        },
      );
    } finally {
      release();
      await service.close();
    }
  });

  describe('attribution against a ClickHouse server that stops answering', () => {
    let dataDir: string;
    let clickhouse: ChildProcess;
    let clickhouseUrl: string;
    let attribution: ServiceProcess;

    before(async () => {
      dataDir = mkdtempSync(join(tmpdir(), 'calltrack-probes-chdb-'));
      const port = await freePort();
      clickhouse = spawn(process.execPath, [join(ROOT, 'libs/testing/dist/clickhouse-http-server.cli.js'), '--data-dir', dataDir, '--port', String(port)], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      clickhouseUrl = await new Promise<string>((resolveUrl, reject) => {
        clickhouse.once('exit', (code) => reject(new Error(`the ClickHouse HTTP server exited with ${code}`)));
        clickhouse.stdout!.on('data', (chunk: Buffer) => {
          const m = /"url":"([^"]+)"/.exec(chunk.toString());
          if (m) resolveUrl(m[1]!);
        });
      });
      attribution = new ServiceProcess('attribution', await freePort(), {
        ...env.env,
        ADMIN_TOKEN: 'probes-admin-token-0123456789',
        KAFKA_SESSION_TIMEOUT_MS: '6000',
        CLICKHOUSE_URL: clickhouseUrl,
        // Nothing else migrates this database: the service does, under the lock (the default with a server is to wait).
        CLICKHOUSE_MIGRATE: 'auto',
        CLICKHOUSE_DATABASE: `probes_${randomUUID().slice(0, 8)}`,
        CLICKHOUSE_HEALTH_INTERVAL_MS: '500',
      });
      await attribution.start();
    });

    after(async () => {
      await attribution?.stop();
      if (clickhouse && clickhouse.exitCode === null) {
        clickhouse.kill('SIGCONT');
        const exited = new Promise((r) => clickhouse.once('exit', r));
        clickhouse.kill('SIGTERM');
        await exited;
      }
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    });

    it('is ready with calltrack_clickhouse_up 1, unready with 0 while ClickHouse does not answer, ready again after', async () => {
      assert.equal((await get(`${attribution.url}/readyz`)).status, 200);
      assert.equal(await gauge(attribution.url, 'calltrack_clickhouse_up'), 1);
      // The server freezes: connections are accepted by the kernel, nothing answers.
      clickhouse.kill('SIGSTOP');
      try {
        const unready = await waitFor(
          async () => {
            const r = await get(`${attribution.url}/readyz`);
            return r.status === 503 ? r : undefined;
          },
          { what: 'attribution to become unready', timeoutMs: 30_000 },
        );
        assert.equal(unready.body.checks?.['clickhouse'], false);
        assert.equal(await gauge(attribution.url, 'calltrack_clickhouse_up'), 0);
        // A dependency outage is not a liveness matter: a restart would not bring ClickHouse back.
        assert.equal((await get(`${attribution.url}/healthz`)).status, 200);
      } finally {
        clickhouse.kill('SIGCONT');
      }
      await waitFor(async () => (await get(`${attribution.url}/readyz`)).status === 200, { what: 'attribution ready again', timeoutMs: 30_000 });
      assert.equal(await gauge(attribution.url, 'calltrack_clickhouse_up'), 1);
    });
  });
});
