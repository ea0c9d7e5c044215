import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createEvent, encodeEvent, type DomainEvent, type EventInput } from '@calltrack/contracts';
import { PoolHistory } from './pool-history.js';
import { PoolState } from './pool-state.js';
import { SnapshotCatalog, snapshotChunks, type SnapshotDocument } from './pool-snapshots.js';

const DAY = 24 * 3600_000;
const START = Date.UTC(2026, 0, 1);
const numbers = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `+7495${prefix}${String(i).padStart(5, '0')}`);

const SITES: Array<{ siteId: string; config: EventInput<'SiteConfigured'> }> = [
  {
    siteId: 'snap-a',
    config: {
      name: 'A',
      country: 'RU',
      timeZone: 'Europe/Moscow',
      defaultNumber: '+74950000000',
      poolNumbers: numbers('11', 8),
      // Two numbers new to the pool: quarantined for an hour, calls restart it.
      numbers: numbers('11', 8).map((number, i) => ({ number, usage: 'pool', status: 'active', quarantinedFromMs: i < 2 ? START : 0 })),
      quarantineSeconds: 3600,
      leaseTtlSeconds: 900,
    },
  },
  {
    siteId: 'snap-b',
    config: {
      name: 'B',
      country: 'RU',
      timeZone: 'Europe/Moscow',
      defaultNumber: '+74950000001',
      poolNumbers: numbers('22', 5),
      leaseTtlSeconds: 600,
      shortagePolicy: 'reuse_oldest',
      promoCodes: { length: 6 },
    },
  },
];

function seeded(): PoolState {
  const state = new PoolState();
  for (const { siteId, config } of SITES) state.apply(createEvent('SiteConfigured', config, { siteId, producer: 't' }));
  return state;
}

/** Equal as JSON; on a difference, says where (a deep-equal diff of states this size would take gigabytes). */
function sameJson(actual: unknown, expected: unknown, what: string): void {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a === e) return;
  let i = 0;
  while (i < a.length && a[i] === e[i]) i += 1;
  assert.fail(`${what} differs at character ${i}: …${a.slice(Math.max(0, i - 120), i + 120)}… expected …${e.slice(Math.max(0, i - 120), i + 120)}…`);
}

function everything(state: PoolState, now: number) {
  return {
    snapshot: state.toSnapshot(),
    stats: SITES.map((s) => state.siteStats(s.siteId)),
    numbers: SITES.map((s) => state.numberStates(s.siteId, now)),
    leases: state.liveLeases(),
  };
}

/** Rebuild from a snapshot taken after `cut` events, plus the rest, against a rebuild from all events. */
function compare(events: DomainEvent[], cut: number, now: number): void {
  const full = seeded();
  for (const e of events) full.apply(e);
  const before = seeded();
  for (const e of events.slice(0, cut)) before.apply(e);
  // Through JSON, as on the topic.
  const restored = seeded();
  restored.restoreSnapshot(JSON.parse(JSON.stringify(before.toSnapshot())));
  for (const e of events.slice(cut)) restored.apply(e);
  const [r, f] = [everything(restored, now), everything(full, now)];
  sameJson(r.snapshot, f.snapshot, 'the state');
  sameJson(r.stats, f.stats, 'the statistics');
  sameJson(r.numbers, f.numbers, 'the number states');
  sameJson(r.leases, f.leases, 'the live leases');
  // And both decide the same from here: the next visits get the same numbers.
  for (let i = 0; i < 20; i += 1) {
    const request = { requestId: `next-${i}`, sessionId: `s-next-${i}`, visitorId: i % 3 === 0 ? 'v7' : `v-next-${i}`, requestedAtMs: now, method: '' };
    const site = SITES[i % 2]!.siteId;
    const a = full.decide(site, request as never, now + i);
    const b = restored.decide(site, request as never, now + i);
    sameJson(b, a, `decision ${i}`);
    if (a.kind === 'granted') {
      const e = createEvent('LeaseGranted', a.payload, { siteId: site, producer: 't' });
      full.apply(e);
      restored.apply(e);
    }
  }
}

describe('pool snapshots', () => {
  const history = new PoolHistory({ sites: SITES, startMs: START, visitEveryMs: 40_000, seed: 7 });
  const events = history.until(START + 14 * DAY);
  const now = history.nowMs;

  it('the history exercises every kind of pool event', () => {
    const types = new Set(events.map((e) => e.type));
    for (const t of ['LeaseGranted', 'LeaseRejected', 'LeaseExtended', 'LeaseExpired', 'NumberCallObserved', 'NumberQuarantineEnded', 'PromoCodeRedeemed'])
      assert.ok(types.has(t as never), t);
    assert.ok(
      events.some((e) => e.type === 'LeaseGranted' && (e as DomainEvent<'LeaseGranted'>).payload.reusedLeaseId),
      'a lease reused under shortage',
    );
  });

  it('snapshot plus tail rebuilds exactly the state of a full rebuild (leases, quarantine, statistics, next decisions)', () => {
    for (const cut of [1, Math.floor(events.length / 3), events.length - 5]) compare(events, cut, now);
  });

  it('a snapshot with no tail is the state itself', () => {
    compare(events, events.length, now);
  });

  it('an empty snapshot (taken before any event) plus the whole log is a full rebuild', () => {
    compare(events, 0, now);
  });

  it('a pool of 10,000 numbers is split in chunks under the 1 MiB message limit, and the latest complete snapshot wins', async () => {
    const big = new PoolState();
    const pool = numbers('33', 10_000);
    big.apply(
      createEvent(
        'SiteConfigured',
        { name: 'Big', country: 'RU', timeZone: 'Europe/Moscow', defaultNumber: '+74950000009', poolNumbers: pool, leaseTtlSeconds: 900 },
        { siteId: 'big', producer: 't' },
      ),
    );
    for (let i = 0; i < 10_000; i += 1) {
      const d = big.decide('big', { requestId: `r${i}`, sessionId: `s${i}`, visitorId: `visitor-with-a-long-id-${i}`, requestedAtMs: 0 } as never, START + i);
      if (d.kind === 'granted') big.apply(createEvent('LeaseGranted', d.payload, { siteId: 'big', producer: 't' }));
    }
    const document: SnapshotDocument = { state: big.toSnapshot(), fence: 12 };
    assert.ok(JSON.stringify(document).length > 1024 * 1024, 'the state itself is over the limit');
    const older = await snapshotChunks(4, 900n, { state: seeded().toSnapshot(), fence: 3 }, 't');
    const { snapshotId, chunks } = await snapshotChunks(4, 1000n, document, 't');
    for (const c of chunks) assert.ok(encodeEvent(c.event).length < 1024 * 1024 - 4096, `chunk ${c.key} fits`);

    const catalog = new SnapshotCatalog();
    for (const c of older.chunks) catalog.add(c.key, c.event);
    // A newer snapshot whose writer died half-way: passed over.
    const broken = await snapshotChunks(4, 2000n, document, 't');
    if (broken.chunks.length > 1) catalog.add(broken.chunks[0]!.key, broken.chunks[0]!.event);
    for (const c of chunks) catalog.add(c.key, c.event);
    const latest = catalog.latest(4)!;
    assert.equal(latest.snapshotId, snapshotId);
    assert.equal(latest.coveredOffset, 1000n);
    sameJson(latest.document, document, 'the reassembled snapshot');
    assert.equal(catalog.latest(5), undefined, 'another partition has none');

    const restored = new PoolState();
    restored.apply(
      createEvent(
        'SiteConfigured',
        { name: 'Big', country: 'RU', timeZone: 'Europe/Moscow', defaultNumber: '+74950000009', poolNumbers: pool, leaseTtlSeconds: 900 },
        { siteId: 'big', producer: 't' },
      ),
    );
    restored.restoreSnapshot(latest.document.state);
    assert.deepEqual(restored.siteStats('big'), big.siteStats('big'));

    // Tombstones of the superseded snapshot remove it; what is left is the new one.
    for (const key of catalog.staleKeys(4, snapshotId)) catalog.add(key, undefined);
    assert.deepEqual(catalog.staleKeys(4, snapshotId), []);
    assert.equal(catalog.latest(4)!.snapshotId, snapshotId);
  });
});
