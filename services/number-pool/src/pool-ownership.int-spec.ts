// One writer per site through partition ownership: two number-pool instances
// share the pool-commands partitions, one leaves (gracefully) or crashes
// (SIGKILL) while lease requests keep coming, and the log must show every
// request answered exactly once and no number leased to two live sessions.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createEvent, siteKey } from '@calltrack/contracts';
import { KafkaBus, replayTopics } from '@calltrack/kafka';
import type { RunningService } from '@calltrack/service-kit';
import { createKafkaTestEnv, freePort, http, LeaseLedger, ServiceProcess, testLogger, TopicProbe, waitFor, type KafkaTestEnv } from '@calltrack/testing';
import { loadNumberPoolConfig } from './config.js';
import { startNumberPool } from './number-pool.app.js';

const ADMIN = 'pool-admin-token-0123456789';
const auth = { authorization: `Bearer ${ADMIN}` };
const SITES = Array.from({ length: 12 }, (_, i) => `own-${i}`);
const NUMBERS_PER_SITE = 40;

async function configureSites(bus: KafkaBus): Promise<void> {
  await bus.producer.publishMany(
    SITES.map((site, s) => ({
      topic: 'sites' as const,
      key: siteKey(site),
      event: createEvent(
        'SiteConfigured',
        {
          name: site,
          country: 'RU',
          timeZone: 'Europe/Moscow',
          defaultNumber: `+7495${String(s).padStart(2, '0')}00000`,
          poolNumbers: Array.from({ length: NUMBERS_PER_SITE }, (_, n) => `+7495${String(s).padStart(2, '0')}1${String(n).padStart(4, '0')}`),
          leaseTtlSeconds: 900,
        },
        { siteId: site, producer: 'test' },
      ),
    })),
  );
}

/** Publishes lease requests round-robin over the sites until stopped; returns the request ids. */
function loadGenerator(bus: KafkaBus, label: string, perTick: number, tickMs: number) {
  const ids: string[] = [];
  let n = 0;
  let running = true;
  const done = (async () => {
    while (running) {
      const batch = Array.from({ length: perTick }, () => {
        const site = SITES[n % SITES.length]!;
        const id = `${label}-${n++}`;
        ids.push(`${site}/${id}`);
        return {
          topic: 'poolCommands' as const,
          key: siteKey(site),
          event: createEvent(
            'LeaseRequested',
            { requestId: id, sessionId: id, visitorId: `v-${id}`, requestedAtMs: Date.now() },
            { siteId: site, producer: 'test' },
          ),
        };
      });
      await bus.producer.publishMany(batch);
      await new Promise((r) => setTimeout(r, tickMs));
    }
  })();
  return {
    ids,
    stop: async () => {
      running = false;
      await done;
    },
  };
}

async function ledgerOf(env: KafkaTestEnv): Promise<{ ledger: LeaseLedger; answered: Set<string> }> {
  const ledger = new LeaseLedger();
  const answered = new Set<string>();
  await replayTopics(env.kafka, env.settings, testLogger, ['poolEvents'], (r) => {
    const e = r.event;
    ledger.apply(e);
    if (e && (e.type === 'LeaseGranted' || e.type === 'LeaseRejected')) answered.add(`${e.siteId}/${e.payload.requestId}`);
  });
  return { ledger, answered };
}

describe('number-pool: one writer per site through partition ownership', () => {
  let env: KafkaTestEnv;
  let bus: KafkaBus;

  before(async () => {
    env = await createKafkaTestEnv('owners');
    bus = new KafkaBus({ ...env.settings, clientId: 'owners-test' }, testLogger);
    await bus.connect();
    await configureSites(bus);
  });

  after(async () => {
    await bus.close();
  });

  it('two instances split the partitions; when one leaves under load the other takes over its sites with their live leases', async () => {
    const config = () =>
      loadNumberPoolConfig({
        ...env.env,
        ADMIN_TOKEN: ADMIN,
        PORT: '0',
        HTTP_HOST: '127.0.0.1',
        LOG_LEVEL: 'warn',
        EXPIRY_SWEEP_INTERVAL_MS: '200',
        KAFKA_SESSION_TIMEOUT_MS: '6000',
      });
    const a: RunningService = await startNumberPool(config());
    const b: RunningService = await startNumberPool(config());
    try {
      const owned = async (s: RunningService) =>
        (await http('GET', `${s.url}/v1/admin/ownership`, { headers: auth })).body as { partitions: number[]; restoring: number[] };
      await waitFor(
        async () => {
          const [pa, pb] = [await owned(a), await owned(b)];
          return pa.partitions.length > 0 && pb.partitions.length > 0 && pa.partitions.length + pb.partitions.length === 6;
        },
        { what: 'both instances to own partitions', timeoutMs: 60_000 },
      );
      const [pa, pb] = [await owned(a), await owned(b)];
      assert.deepEqual([...pa.partitions, ...pb.partitions].sort(), [0, 1, 2, 3, 4, 5], 'every partition has exactly one owner');

      const load = loadGenerator(bus, 'two', 6, 50);
      await new Promise((r) => setTimeout(r, 1500));
      await a.close(); // graceful: leaves the group, B is assigned A's partitions and rebuilds them
      await new Promise((r) => setTimeout(r, 1500));
      await load.stop();

      await waitFor(async () => (await owned(b)).partitions.length === 6 && (await owned(b)).restoring.length === 0, {
        what: 'B to own every partition',
        timeoutMs: 60_000,
      });
      let result = await ledgerOf(env);
      await waitFor(
        async () => {
          result = await ledgerOf(env);
          return load.ids.every((id) => result.answered.has(id));
        },
        { what: 'every request to be answered', timeoutMs: 60_000 },
      );
      assert.deepEqual(result.ledger.violations, []);
      assert.equal(result.ledger.grants + result.ledger.rejections, load.ids.length, 'each request answered once');
      // B's own state agrees with the log: the live leases of A's sites survived the handover.
      for (const site of SITES) {
        const stats = (await http('GET', `${b.url}/v1/admin/sites/${site}/pool`, { headers: auth })).body;
        assert.equal(stats.leased, result.ledger.liveLeases(site), `live leases of ${site}`);
      }
      // And B keeps deciding: a new request on a site A used to own gets a free number.
      const next = loadGenerator(bus, 'after', SITES.length, 10_000);
      await new Promise((r) => setTimeout(r, 100));
      await next.stop();
      await waitFor(
        async () => {
          result = await ledgerOf(env);
          return next.ids.every((id) => result.answered.has(id));
        },
        { what: 'answers after the handover', timeoutMs: 30_000 },
      );
      assert.deepEqual(result.ledger.violations, []);
    } finally {
      await a.close().catch(() => undefined);
      await b.close();
    }
  });

  it('a crashed instance (SIGKILL under load) is replaced without losing or duplicating a lease', async () => {
    const crashEnv = await createKafkaTestEnv('crash');
    const crashBus = new KafkaBus({ ...crashEnv.settings, clientId: 'crash-test' }, testLogger);
    await crashBus.connect();
    await configureSites(crashBus);
    const probe = await TopicProbe.start(crashEnv, [{ dlq: 'poolCommands' }]);
    const pool = new ServiceProcess('number-pool', await freePort(), {
      ...crashEnv.env,
      ADMIN_TOKEN: ADMIN,
      LOG_LEVEL: 'warn',
      KAFKA_SESSION_TIMEOUT_MS: '6000',
    });
    try {
      await pool.start();
      const load = loadGenerator(crashBus, 'crash', 4, 20);
      await waitFor(async () => (await ledgerOf(crashEnv)).ledger.grants > 50, { what: 'leases under load', timeoutMs: 30_000 });
      await pool.kill();
      await new Promise((r) => setTimeout(r, 500));
      await pool.start();
      await new Promise((r) => setTimeout(r, 1500));
      await load.stop();
      let result = await ledgerOf(crashEnv);
      await waitFor(
        async () => {
          result = await ledgerOf(crashEnv);
          return load.ids.every((id) => result.answered.has(id));
        },
        { what: 'every request of the run to be answered', timeoutMs: 60_000 },
      );
      assert.deepEqual(result.ledger.violations, [], 'no number leased twice, no request answered twice');
      assert.equal(result.ledger.grants + result.ledger.rejections, load.ids.length);
      for (const site of SITES) {
        const stats = (await http('GET', `${pool.url}/v1/admin/sites/${site}/pool`, { headers: auth })).body;
        assert.equal(stats.leased, result.ledger.liveLeases(site), `live leases of ${site} after the crash`);
      }
      assert.equal(probe.deadLetters('poolCommands').length, 0, 'no command was dead-lettered');
    } finally {
      await pool.stop();
      await probe.stop();
      await crashBus.close();
    }
  });
});
