// Recovery from snapshots on the real broker: a partition rebuilt from its latest
// snapshot plus the pool events after it has exactly the state a full replay of
// the log gives (no snapshot, snapshot plus tail, snapshot with no tail); and a
// number-pool member paused past its session timeout, whose partition another
// member took, publishes its late sweep into a fence: no reader applies it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createEvent, siteKey, TOPICS, WriterFences, type DomainEvent, type EventInput } from '@calltrack/contracts';
import { KafkaBus, partitionOf, replayTopics, type ReplayedRecord } from '@calltrack/kafka';
import type { RunningService } from '@calltrack/service-kit';
import { createKafkaTestEnv, freePort, http, ServiceProcess, testLogger, waitFor, type KafkaTestEnv } from '@calltrack/testing';
import { loadNumberPoolConfig } from './config.js';
import { startNumberPool } from './number-pool.app.js';
import { PoolHistory } from './pool-history.js';
import { PoolState } from './pool-state.js';
import { PoolService } from './pool.service.js';

const ADMIN = 'pool-admin-token-0123456789';
const auth = { authorization: `Bearer ${ADMIN}` };
const DAY = 24 * 3600_000;
const P = TOPICS.poolEvents.partitions;
const numbers = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `+7495${prefix}${String(i).padStart(5, '0')}`);

function sites(start: number): Array<{ siteId: string; config: EventInput<'SiteConfigured'> }> {
  const base = { country: 'RU', timeZone: 'Europe/Moscow' };
  return [
    {
      siteId: 'snap-quarantine',
      config: {
        ...base,
        name: 'Q',
        defaultNumber: '+74950000000',
        poolNumbers: numbers('11', 8),
        numbers: numbers('11', 8).map((number, i) => ({ number, usage: 'pool', status: 'active', quarantinedFromMs: i < 2 ? start : 0 })),
        quarantineSeconds: 3600,
        leaseTtlSeconds: 900,
      },
    },
    {
      siteId: 'snap-reuse',
      config: {
        ...base,
        name: 'R',
        defaultNumber: '+74950000001',
        poolNumbers: numbers('22', 5),
        leaseTtlSeconds: 600,
        shortagePolicy: 'reuse_oldest',
        promoCodes: { length: 6 },
      },
    },
    // Leases of a month: they stay live through the test, so the sweeps have nothing to change while states are compared.
    { siteId: 'snap-long', config: { ...base, name: 'L', defaultNumber: '+74950000002', poolNumbers: numbers('33', 4), leaseTtlSeconds: 30 * 24 * 3600 } },
  ];
}

async function publish(bus: KafkaBus, events: DomainEvent[]): Promise<void> {
  for (let i = 0; i < events.length; i += 2000) {
    await bus.producer.publishMany(events.slice(i, i + 2000).map((event) => ({ topic: 'poolEvents' as const, key: siteKey(event.siteId), event })));
  }
}

/** Every partition's state from a full replay of pool-events (with the writer fences), as snapshot data. */
async function fullReplay(env: KafkaTestEnv, configs: ReturnType<typeof sites>): Promise<Map<number, string>> {
  const states = new Map<number, PoolState>();
  for (let p = 0; p < P; p += 1) {
    const state = new PoolState({ ownsSite: (siteId) => partitionOf(siteKey(siteId), P) === p });
    for (const { siteId, config } of configs) state.apply(createEvent('SiteConfigured', config, { siteId, producer: 't' }));
    states.set(p, state);
  }
  const fences = new WriterFences();
  await replayTopics(env.kafka, env.settings, testLogger, ['poolEvents'], (r: ReplayedRecord) => {
    if (r.event && fences.admit(r.partition, r.offset, r.event)) states.get(r.partition)!.apply(r.event);
  });
  return new Map([...states].map(([p, s]) => [p, JSON.stringify(s.toSnapshot())]));
}

function assertSameStates(running: RunningService, reference: Map<number, string>, what: string): void {
  const mine = running.app.get(PoolService).writerStates();
  assert.deepEqual([...mine.keys()].sort(), [...reference.keys()].sort(), `${what}: every partition rebuilt`);
  for (const [p, expected] of reference) {
    const actual = JSON.stringify(mine.get(p));
    if (actual === expected) continue;
    let i = 0;
    while (i < actual.length && actual[i] === expected[i]) i += 1;
    assert.fail(
      `${what}: partition ${p} differs at ${i}: …${actual.slice(Math.max(0, i - 150), i + 150)}… expected …${expected.slice(Math.max(0, i - 150), i + 150)}…`,
    );
  }
}

type Ownership = {
  partitions: number[];
  restoring: number[];
  restored: Array<{ partition: number; epoch: number; snapshotOffset: string | null; records: number }>;
};

describe('number-pool: snapshots and fencing', () => {
  let env: KafkaTestEnv;
  let bus: KafkaBus;

  before(async () => {
    env = await createKafkaTestEnv('snaps');
    bus = new KafkaBus({ ...env.settings, clientId: 'snaps-test' }, testLogger);
    await bus.connect();
  });

  after(async () => {
    await bus.close();
  });

  it('rebuilds each partition from its latest snapshot plus the tail exactly as a full replay does (none, snapshot + tail, snapshot only)', async () => {
    const now = Date.now();
    const start = now - 10 * DAY;
    const configs = sites(start);
    await bus.producer.publishMany(
      configs.map(({ siteId, config }) => ({
        topic: 'sites' as const,
        key: siteKey(siteId),
        event: createEvent('SiteConfigured', config, { siteId, producer: 'test' }),
      })),
    );
    const history = new PoolHistory({ sites: configs, startMs: start, visitEveryMs: 180_000, seed: 11 });
    // Each part ends with its due leases and quarantines ended, so nothing is due when a service starts.
    const part1 = [...history.until(now - 6 * DAY), ...history.drain(now - 6 * DAY + 2 * 3600_000)];
    await publish(bus, part1);

    const config = () =>
      loadNumberPoolConfig({
        ...env.env,
        ADMIN_TOKEN: ADMIN,
        PORT: '0',
        HTTP_HOST: '127.0.0.1',
        LOG_LEVEL: 'warn',
        EXPIRY_SWEEP_INTERVAL_MS: '500',
        // Snapshots only when the test says (and on graceful shutdown).
        POOL_SNAPSHOT_EVERY_RECORDS: '0',
        POOL_SNAPSHOT_INTERVAL_MS: '0',
      });
    const ownership = async (s: RunningService) => (await http('GET', `${s.url}/v1/admin/ownership`, { headers: auth })).body as Ownership;
    const allRebuilt = (s: RunningService) =>
      waitFor(async () => (await ownership(s)).restored.length === P, { what: 'every partition rebuilt', timeoutMs: 90_000 });

    // 1. No snapshot yet: the whole log is replayed.
    const a = await startNumberPool(config());
    try {
      await allRebuilt(a);
      const own = await ownership(a);
      assert.ok(own.restored.every((r) => r.snapshotOffset === null));
      assertSameStates(a, await fullReplay(env, configs), 'full rebuild');
      assert.deepEqual((await a.app.get(PoolService).snapshotAll()).sort(), [0, 1, 2, 3, 4, 5]);
    } finally {
      await a.close();
    }

    // 2. More history while no instance runs: the next rebuild is the snapshot plus this tail.
    const part2 = [...history.until(now - 2 * DAY), ...history.drain(now - 2 * DAY + 2 * 3600_000)];
    await publish(bus, part2);
    const c = await startNumberPool(config());
    try {
      await allRebuilt(c);
      const own = await ownership(c);
      assert.ok(
        own.restored.every((r) => r.snapshotOffset !== null),
        'every partition started from a snapshot',
      );
      const replayed = own.restored.reduce((n, r) => n + r.records, 0);
      assert.ok(replayed < part2.length + 4 * P, `only the tail was read (${replayed} records; history ${part1.length + part2.length})`);
      assert.ok(replayed >= part2.length, 'the whole tail was read');
      assertSameStates(c, await fullReplay(env, configs), 'snapshot and tail');
    } finally {
      // A graceful stop snapshots what changed: the tail is covered now.
      await c.close();
    }

    // 3. A snapshot with nothing after it but the writer claims.
    const d = await startNumberPool(config());
    try {
      await allRebuilt(d);
      const own = await ownership(d);
      assert.ok(
        own.restored.every((r) => r.snapshotOffset !== null && r.records <= 3),
        `only claims after the snapshots: ${JSON.stringify(own.restored)}`,
      );
      assertSameStates(d, await fullReplay(env, configs), 'snapshot without tail');
      // And the rebuilt instance still decides: a new visit to the long-lease site gets an answer.
      await bus.producer.publish(
        'poolCommands',
        siteKey('snap-long'),
        createEvent(
          'LeaseRequested',
          { requestId: 'after-snap', sessionId: 's-after', visitorId: 'v-after', requestedAtMs: Date.now() },
          { siteId: 'snap-long', producer: 'test' },
        ),
      );
      await waitFor(
        async () => {
          const log = await fullReplay(env, configs);
          return [...log.values()].some((s) => s.includes('"after-snap"'));
        },
        { what: 'the answer after the rebuild', timeoutMs: 30_000 },
      );
    } finally {
      await d.close();
    }
  });

  it('fences a member paused past its session timeout: no reader applies its late sweep, published after another member took the partition', async () => {
    const fenceEnv = await createKafkaTestEnv('fence');
    const fenceBus = new KafkaBus({ ...fenceEnv.settings, clientId: 'fence-test' }, testLogger);
    await fenceBus.connect();
    const SITE = 'fenced-site';
    const partition = partitionOf(siteKey(SITE), P);
    const TTL_S = 60;
    await fenceBus.producer.publish(
      'sites',
      siteKey(SITE),
      createEvent(
        'SiteConfigured',
        { name: 'F', country: 'RU', timeZone: 'Europe/Moscow', defaultNumber: '+74950000077', poolNumbers: numbers('77', 3), leaseTtlSeconds: TTL_S },
        { siteId: SITE, producer: 'test' },
      ),
    );
    const log = async () => {
      const records: Array<{ offset: number; event: DomainEvent }> = [];
      await replayTopics(fenceEnv.kafka, fenceEnv.settings, testLogger, ['poolEvents'], (r) => {
        if (r.partition === partition && r.event) records.push({ offset: Number(r.offset), event: r.event });
      });
      return records;
    };
    const processEnv = { ...fenceEnv.env, ADMIN_TOKEN: ADMIN, LOG_LEVEL: 'info', KAFKA_SESSION_TIMEOUT_MS: '6000', EXPIRY_SWEEP_INTERVAL_MS: '200' };
    const a = new ServiceProcess('number-pool', await freePort(), processEnv);
    const b = new ServiceProcess('number-pool', await freePort(), processEnv);
    try {
      await a.start();
      await waitFor(async () => ((await http('GET', `${a.url}/v1/admin/ownership`, { headers: auth })).body as Ownership).restored.length === P, {
        what: 'A to own every partition',
        timeoutMs: 60_000,
      });
      await fenceBus.producer.publish(
        'poolCommands',
        siteKey(SITE),
        createEvent(
          'LeaseRequested',
          { requestId: 'r-fence', sessionId: 's-fence', visitorId: 'v-fence', requestedAtMs: Date.now() },
          { siteId: SITE, producer: 'test' },
        ),
      );
      const granted = await waitFor(async () => (await log()).find((r) => r.event.type === 'LeaseGranted')?.event as DomainEvent<'LeaseGranted'> | undefined, {
        what: 'the lease from A',
        timeoutMs: 30_000,
      });
      const epochA = granted.writerEpoch!;
      assert.ok(epochA > 0, 'an owner stamps its epoch');

      // A freezes (a long GC pause): no heartbeats. B takes the partition once A's session ran out.
      a.pause();
      await b.start();
      const ownedByB = await waitFor(
        async () => {
          const own = (await http('GET', `${b.url}/v1/admin/ownership`, { headers: auth })).body as Ownership;
          return own.restored.find((r) => r.partition === partition);
        },
        { what: "B to own the site's partition", timeoutMs: 90_000 },
      );
      assert.ok(ownedByB.epoch > epochA, 'B claimed after A');

      // The visitor's page is still open: B extends the lease (A's copy of it still ends at the first tail).
      const originalEnd = Number(granted.payload.expiresAtMs);
      await waitFor(() => Date.now() > originalEnd - 10_000, { what: 'the last seconds of the first tail', timeoutMs: TTL_S * 1000, intervalMs: 250 });
      await fenceBus.producer.publish(
        'poolCommands',
        siteKey(SITE),
        createEvent(
          'LeaseExtendRequested',
          { leaseId: granted.payload.leaseId, sessionId: 's-fence', requestedAtMs: Date.now() },
          { siteId: SITE, producer: 'test' },
        ),
      );
      const extended = await waitFor(
        async () => (await log()).find((r) => r.event.type === 'LeaseExtended')?.event as DomainEvent<'LeaseExtended'> | undefined,
        { what: 'B to extend the lease', timeoutMs: 30_000 },
      );
      assert.equal(extended.writerEpoch, ownedByB.epoch);
      await waitFor(() => Date.now() > originalEnd + 500, { what: 'the first tail to pass', timeoutMs: 20_000, intervalMs: 100 });

      // A wakes up: its sweep still thinks the lease is over and publishes before it learns of B's claim.
      a.resume();
      const late = await waitFor(async () => (await log()).find((r) => r.event.type === 'LeaseExpired' && r.event.writerEpoch === epochA), {
        what: "A's late sweep",
        timeoutMs: 30_000,
      });
      const claimB = (await log()).find((r) => r.event.type === 'PoolWriterClaimed' && r.offset + 1 === ownedByB.epoch)!;
      assert.ok(late.offset > claimB.offset, "A's sweep landed after B's claim");

      // Every reader that applies the fence still sees the lease live (B's expiry is a tail later).
      const fences = new WriterFences();
      const reader = new PoolState();
      reader.apply(
        createEvent(
          'SiteConfigured',
          { name: 'F', country: 'RU', timeZone: 'Europe/Moscow', defaultNumber: '+74950000077', poolNumbers: numbers('77', 3), leaseTtlSeconds: TTL_S },
          { siteId: SITE, producer: 'test' },
        ),
      );
      for (const r of await log()) if (fences.admit(partition, r.offset, r.event)) reader.apply(r.event);
      assert.deepEqual(
        reader.liveLeases(SITE).map((l) => l.leaseId),
        [granted.payload.leaseId],
        'the fenced expiry is not applied',
      );
      assert.ok(Number(extended.payload.expiresAtMs) > Date.now(), "B's extension still runs: the check above was made within it");
      // B (writer state and read view) kept the lease.
      const pool = (await http('GET', `${b.url}/v1/admin/sites/${SITE}/pool`, { headers: auth })).body as { leases: Array<{ leaseId: string }> };
      assert.deepEqual(
        pool.leases.map((l) => l.leaseId),
        [granted.payload.leaseId],
      );
    } finally {
      a.resume();
      await a.kill();
      await b.stop();
      await fenceBus.close();
    }
  });
});
