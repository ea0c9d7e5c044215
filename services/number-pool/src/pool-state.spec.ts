import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createEvent, type DomainEvent } from '@calltrack/contracts';
import { PoolState } from './pool-state.js';

const site = 'site-a';
const configure = (state: PoolState, numbers: string[], ttl = 900, extra: { shortagePolicy?: string; overflowNumber?: string } = {}) =>
  state.apply(
    createEvent(
      'SiteConfigured',
      { name: 'A', country: 'RU', timeZone: 'Europe/Moscow', defaultNumber: '+74950000000', poolNumbers: numbers, leaseTtlSeconds: ttl, ...extra },
      { siteId: site, producer: 't' },
    ),
  );
const request = (id: string) => ({ requestId: id, sessionId: `s-${id}`, visitorId: `v-${id}`, requestedAtMs: 0 }) as never;

function grant(state: PoolState, id: string, now: number): DomainEvent<'LeaseGranted'> {
  const d = state.decide(site, request(id), now);
  if (d.kind !== 'granted') throw new Error(`expected a grant, got ${d.kind}`);
  const e = createEvent('LeaseGranted', d.payload, { siteId: site, producer: 't' });
  state.apply(e);
  return e;
}

describe('PoolState', () => {
  it('never gives one number to two live leases and rejects when the pool is exhausted', () => {
    const state = new PoolState();
    configure(state, ['+74951000001', '+74951000002']);
    const a = grant(state, 'r1', 1000);
    const b = grant(state, 'r2', 1000);
    assert.notEqual(a.payload.trackingNumber, b.payload.trackingNumber);
    const third = state.decide(site, request('r3'), 1000);
    assert.equal(third.kind, 'rejected');
    assert.equal((third as { payload: { reason: string; fallbackNumber: string } }).payload.reason, 'pool_exhausted');
    assert.equal((third as { payload: { fallbackNumber: string } }).payload.fallbackNumber, '+74950000000');
  });

  it('answers a redelivered request once', () => {
    const state = new PoolState();
    configure(state, ['+74951000001', '+74951000002']);
    grant(state, 'r1', 1000);
    assert.equal(state.decide(site, request('r1'), 1001).kind, 'duplicate');
    assert.equal(state.siteStats(site)?.leased, 1);
  });

  it('expires leases after the TTL and then gives out the number released longest ago', () => {
    const state = new PoolState();
    configure(state, ['+74951000001', '+74951000002', '+74951000003'], 60);
    const a = grant(state, 'r1', 0);
    const b = grant(state, 'r2', 10_000);
    grant(state, 'r3', 20_000);
    assert.deepEqual(state.dueForExpiry(59_999), []);
    const due = state.dueForExpiry(79_999).map((l) => l.leaseId);
    assert.deepEqual(due, [a.payload.leaseId, b.payload.leaseId]);
    // b released later than a, so a's number must come first.
    state.apply(
      createEvent(
        'LeaseExpired',
        { leaseId: b.payload.leaseId, sessionId: 's', trackingNumber: b.payload.trackingNumber, releasedAtMs: 70_000 },
        { siteId: site, producer: 't' },
      ),
    );
    state.apply(
      createEvent(
        'LeaseExpired',
        { leaseId: a.payload.leaseId, sessionId: 's', trackingNumber: a.payload.trackingNumber, releasedAtMs: 60_000 },
        { siteId: site, producer: 't' },
      ),
    );
    const next = grant(state, 'r4', 90_000);
    assert.equal(next.payload.trackingNumber, a.payload.trackingNumber);
    assert.equal(next.payload.expiresAtMs, 90_000 + 60_000);
  });

  it('gives a returning visitor their previous number while it is free, and the longest-released one otherwise', () => {
    const state = new PoolState();
    configure(state, ['+74951000001', '+74951000002', '+74951000003'], 60);
    const first = grant(state, 'r1', 0); // visitor v-r1
    const expire = (e: typeof first, at: number) =>
      state.apply(
        createEvent(
          'LeaseExpired',
          { leaseId: e.payload.leaseId, sessionId: 's', trackingNumber: e.payload.trackingNumber, releasedAtMs: at },
          { siteId: site, producer: 't' },
        ),
      );
    expire(first, 60_000);
    // Another free number was released longer ago (never used): without stickiness it would go first.
    const back = state.decide(site, { requestId: 'r9', sessionId: 's9', visitorId: 'v-r1', requestedAtMs: 0 } as never, 120_000);
    assert.equal(back.kind, 'granted');
    assert.equal((back as { payload: { trackingNumber: string } }).payload.trackingNumber, first.payload.trackingNumber);

    // Someone else now holds it: the returning visitor gets another number.
    const state2 = new PoolState();
    configure(state2, ['+74951000001', '+74951000002'], 60);
    const mine = grant(state2, 'r1', 0);
    state2.apply(
      createEvent(
        'LeaseExpired',
        { leaseId: mine.payload.leaseId, sessionId: 's', trackingNumber: mine.payload.trackingNumber, releasedAtMs: 60_000 },
        { siteId: site, producer: 't' },
      ),
    );
    const taken = grant(state2, 'r2', 61_000); // visitor v-r2 takes the never-used number first...
    const stolen = grant(state2, 'r3', 62_000); // ...and v-r3 then takes v-r1's old number
    assert.equal(stolen.payload.trackingNumber, mine.payload.trackingNumber);
    const returning = state2.decide(site, { requestId: 'r4', sessionId: 's4', visitorId: 'v-r1', requestedAtMs: 0 } as never, 63_000);
    assert.equal(returning.kind, 'rejected', `both numbers are taken (${taken.payload.trackingNumber}, ${stolen.payload.trackingNumber})`);
  });

  it('applies each shortage policy and counts every shortage', () => {
    const byDefault = new PoolState();
    configure(byDefault, ['+74951000001']);
    grant(byDefault, 'r1', 0);
    const d = byDefault.decide(site, request('r2'), 1);
    assert.equal(d.kind === 'rejected' && d.payload.fallbackNumber, '+74950000000');

    const overflow = new PoolState();
    configure(overflow, ['+74951000001'], 900, { shortagePolicy: 'overflow_number', overflowNumber: '+74959999999' });
    grant(overflow, 'r1', 0);
    const o = overflow.decide(site, request('r2'), 1);
    assert.equal(o.kind === 'rejected' && o.payload.fallbackNumber, '+74959999999');
    assert.equal(o.kind === 'rejected' && o.payload.reason, 'pool_exhausted');
    if (o.kind !== 'rejected') throw new Error('expected a rejection');
    overflow.apply(createEvent('LeaseRejected', o.payload, { siteId: site, producer: 't' }));
    assert.equal(overflow.siteStats(site)?.shortages, 1);

    const reuse = new PoolState();
    configure(reuse, ['+74951000001', '+74951000002'], 900, { shortagePolicy: 'reuse_oldest' });
    const oldest = grant(reuse, 'r1', 0);
    grant(reuse, 'r2', 10);
    const taken = grant(reuse, 'r3', 20);
    assert.equal(taken.payload.trackingNumber, oldest.payload.trackingNumber, 'the oldest live lease gives up its number');
    assert.equal(taken.payload.reusedLeaseId, oldest.payload.leaseId);
    assert.deepEqual(
      reuse
        .liveLeases(site)
        .map((l) => l.leaseId)
        .sort(),
      ['r2', 'r3'],
    );
    const stats = reuse.siteStats(site)!;
    assert.equal(stats.shortages, 1);
    assert.equal(stats.peakDemand, 3, 'two numbers leased and a third visitor wanting one');
    assert.equal(stats.recommendedPoolSize, 5);
    assert.equal(stats.utilisation, 1);
  });

  it('counts what visitors needed when the pool ran dry: peak demand past the pool size, shortages per day', () => {
    // Given a pool of 2 numbers with a 60 s tail
    const state = new PoolState();
    configure(state, ['+74951000001', '+74951000002'], 60);
    const dry = (id: string, now: number) => {
      const d = state.decide(site, request(id), now);
      assert.equal(d.kind === 'rejected' && d.payload.reason, 'pool_exhausted');
      if (d.kind === 'rejected') state.apply(createEvent('LeaseRejected', d.payload, { siteId: site, producer: 't', occurredAtMs: now }));
    };
    // When 6 visitors arrive within 10 s: 2 get a number, 4 see the default number
    grant(state, 'r1', 1_000);
    grant(state, 'r2', 2_000);
    for (const [i, at] of [3_000, 4_000, 5_000, 10_000].entries()) dry(`x${i}`, at);
    // Then demand counts all 6 at once, and the recommendation covers them with headroom
    let stats = state.siteStats(site)!;
    assert.equal(stats.shortages, 4);
    assert.equal(stats.peakDemand, 6, 'two leased and four visitors without a number of their own');
    assert.equal(stats.recommendedPoolSize, 9);
    assert.deepEqual(stats.shortageVisitorsByDay, [{ day: '1970-01-01', visitors: 4 }]);
    // When one more visitor finds it dry after the earlier ones' tails have passed: 3 at once, the peak stays
    dry('late', 200_000);
    stats = state.siteStats(site)!;
    assert.equal(stats.peakDemand, 6);
    assert.deepEqual(stats.shortageVisitorsByDay, [{ day: '1970-01-01', visitors: 5 }]);
    // And a rebuild from a snapshot keeps the figures
    const rebuilt = new PoolState();
    configure(rebuilt, ['+74951000001', '+74951000002'], 60);
    rebuilt.restoreSnapshot(JSON.parse(JSON.stringify(state.toSnapshot())));
    assert.deepEqual(rebuilt.siteStats(site), stats);
  });

  it('holds a lease for another tail on each heartbeat of its own session, and survives a rebuild', () => {
    const state = new PoolState();
    configure(state, ['+74951000001'], 60);
    const lease = grant(state, 'r1', 0);
    const beat = (sessionId: string, at: number) => state.decideExtension(site, { leaseId: lease.payload.leaseId, sessionId, requestedAtMs: at } as never, at);
    assert.equal(beat('someone-else', 30_000), undefined, 'another session cannot hold this lease');
    assert.equal(beat(lease.payload.sessionId, 500), undefined, 'a move of under a second is not an event');
    const ext = beat(lease.payload.sessionId, 30_000);
    assert.equal(ext?.expiresAtMs, 90_000);
    const extended = createEvent('LeaseExtended', ext, { siteId: site, producer: 't' });
    state.apply(extended);
    assert.deepEqual(state.dueForExpiry(60_000), [], 'no longer due at the first expiry');
    assert.equal(state.dueForExpiry(90_000).length, 1);

    const rebuilt = new PoolState();
    configure(rebuilt, ['+74951000001'], 60);
    rebuilt.apply(lease);
    rebuilt.apply(extended);
    assert.deepEqual(rebuilt.dueForExpiry(60_000), []);
    rebuilt.apply(
      createEvent(
        'LeaseExpired',
        { leaseId: lease.payload.leaseId, sessionId: 's', trackingNumber: lease.payload.trackingNumber, releasedAtMs: 90_000 },
        { siteId: site, producer: 't' },
      ),
    );
    assert.equal(
      rebuilt.decideExtension(site, { leaseId: lease.payload.leaseId, sessionId: lease.payload.sessionId, requestedAtMs: 0 } as never, 95_000),
      undefined,
      'an ended lease is not revived',
    );
  });

  it('rejects unknown sites and empty pools with distinct reasons', () => {
    const state = new PoolState();
    assert.equal((state.decide('nope', request('x'), 0) as { payload: { reason: string } }).payload.reason, 'unknown_site');
    configure(state, []);
    assert.equal((state.decide(site, request('y'), 0) as { payload: { reason: string } }).payload.reason, 'pool_empty');
  });

  it('keeps a lease on its number when the lease is applied before the site (rebuild from two topics)', () => {
    const first = new PoolState();
    configure(first, ['+74951000001', '+74951000002']);
    const a = grant(first, 'r1', 0);
    const rebuilt = new PoolState();
    rebuilt.apply(a);
    configure(rebuilt, ['+74951000001', '+74951000002']);
    assert.equal(rebuilt.siteStats(site)?.leased, 1);
    const b = grant(rebuilt, 'r2', 1);
    assert.notEqual(b.payload.trackingNumber, a.payload.trackingNumber);
  });

  it('keeps live leases when the pool is reconfigured', () => {
    const state = new PoolState();
    configure(state, ['+74951000001', '+74951000002']);
    const a = grant(state, 'r1', 0);
    configure(state, ['+74951000001', '+74951000002', '+74951000003']);
    assert.equal(state.siteStats(site)?.leased, 1);
    const b = grant(state, 'r2', 0);
    assert.notEqual(b.payload.trackingNumber, a.payload.trackingNumber);
  });

  const inventory = (
    state: PoolState,
    entries: Array<{ number: string; usage?: string; status?: string; quarantinedFromMs?: number }>,
    quarantineSeconds = 60,
    extra: object = {},
  ) =>
    state.apply(
      createEvent(
        'SiteConfigured',
        {
          name: 'A',
          country: 'RU',
          timeZone: 'Europe/Moscow',
          defaultNumber: '+74950000000',
          poolNumbers: entries.filter((e) => (e.usage ?? 'pool') === 'pool' && e.status !== 'retired').map((e) => e.number),
          numbers: entries.map((e) => ({ usage: 'pool', status: 'active', ...e })),
          quarantineSeconds,
          leaseTtlSeconds: 60,
          ...extra,
        },
        { siteId: site, producer: 't' },
      ),
    );
  const call = (state: PoolState, callId: string, number: string, at: number) => {
    const observed = state.observeCall(site, { callId, trackingNumber: number, calledAtMs: at } as never);
    if (observed) state.apply(createEvent('NumberCallObserved', observed, { siteId: site, producer: 't' }));
    return observed;
  };

  it('keeps a quarantined number out of the pool until it has had no calls for the quarantine period', () => {
    const state = new PoolState();
    inventory(state, [{ number: '+74951000001' }, { number: '+74951000002', quarantinedFromMs: 1_000 }]);
    const a = grant(state, 'r1', 2_000);
    assert.equal(a.payload.trackingNumber, '+74951000001');
    const b = state.decide(site, request('r2'), 2_000);
    assert.equal(b.kind === 'rejected' && b.payload.reason, 'pool_exhausted', 'the quarantined number is not given out');
    assert.equal(state.siteStats(site)?.quarantined, 1);

    // A call to it restarts the clock and is recorded with the number's state.
    assert.equal(call(state, 'c1', '+74951000002', 50_000)?.numberState, 'quarantined');
    assert.equal(call(state, 'c1', '+74951000002', 50_000), undefined, 'a call counts once');
    assert.deepEqual(state.dueQuarantineEnds(61_000), [], 'not quiet for 60 s since the call');
    const ends = state.dueQuarantineEnds(110_000);
    assert.deepEqual(
      ends.map((e) => [e.payload.trackingNumber, e.payload.quarantinedFromMs]),
      [['+74951000002', 1_000]],
    );
    state.apply(createEvent('NumberQuarantineEnded', ends[0]!.payload, { siteId: site, producer: 't' }));
    assert.deepEqual(state.dueQuarantineEnds(200_000), []);
    assert.equal(grant(state, 'r3', 110_000).payload.trackingNumber, '+74951000002');
    assert.deepEqual(state.siteStats(site)?.callsByNumberState, { leased: 0, free: 0, quarantined: 1, retired: 0 });

    // An operator's new quarantine (a later start) is not closed by the old end event.
    inventory(state, [{ number: '+74951000001' }, { number: '+74951000002', quarantinedFromMs: 300_000 }]);
    const states = Object.fromEntries(state.numberStates(site, 300_000)!.map((n) => [n.number, n.state]));
    assert.deepEqual(states, { '+74951000001': 'leased', '+74951000002': 'leased' }, 'a leased number stays leased; quarantine applies once it is released');
    state.apply(
      createEvent('LeaseExpired', { leaseId: 'r3', sessionId: 's', trackingNumber: '+74951000002', releasedAtMs: 310_000 }, { siteId: site, producer: 't' }),
    );
    assert.equal(state.numberStates(site, 310_000)!.find((n) => n.number === '+74951000002')?.state, 'quarantined');
    assert.deepEqual(state.dueQuarantineEnds(360_000), [], 'the quiet period starts at the release');
    assert.equal(state.dueQuarantineEnds(370_000).length, 1);
  });

  it('never gives out a retired number, keeps its live lease, and records calls to it', () => {
    const state = new PoolState();
    inventory(state, [{ number: '+74951000001' }, { number: '+74951000002' }]);
    const a = grant(state, 'r1', 0);
    inventory(state, [
      { number: a.payload.trackingNumber, status: 'retired' },
      { number: a.payload.trackingNumber === '+74951000001' ? '+74951000002' : '+74951000001' },
    ]);
    assert.equal(state.liveLeases(site).length, 1, 'the visitor keeps seeing the retired number until the lease ends');
    assert.equal(call(state, 'c1', a.payload.trackingNumber, 1_000)?.numberState, 'retired');
    state.apply(
      createEvent(
        'LeaseExpired',
        { leaseId: 'r1', sessionId: 's', trackingNumber: a.payload.trackingNumber, releasedAtMs: 60_000 },
        { siteId: site, producer: 't' },
      ),
    );
    const b = grant(state, 'r2', 61_000);
    assert.notEqual(b.payload.trackingNumber, a.payload.trackingNumber);
    const c = state.decide(site, request('r3'), 61_000);
    assert.equal(c.kind, 'rejected', 'the retired number is never leased again');
    assert.equal(state.numberStates(site, 61_000)!.find((n) => n.number === a.payload.trackingNumber)?.state, 'retired');
    assert.equal(state.siteStats(site)?.poolSize, 1);
    assert.equal(call(state, 'c2', b.payload.trackingNumber, 62_000)?.numberState, 'leased');
    assert.equal(call(state, 'c3', '+74959999999', 62_000), undefined, 'a number not in the inventory is not a pool event');
  });

  it('gives each promo-code session a code unique among live leases, frees it on expiry, and finds its holder by time', () => {
    const state = new PoolState();
    // Two letters of a two-character alphabet: four codes in all.
    inventory(state, [], 0, { promoCodes: { length: 2, alphabet: 'AB' } });
    const promo = (id: string, at: number) =>
      state.decide(site, { requestId: id, sessionId: `s-${id}`, visitorId: `v-${id}`, requestedAtMs: 0, method: 'promo_code' } as never, at);
    const codes: string[] = [];
    for (let i = 0; i < 4; i += 1) {
      const d = promo(`p${i}`, 1_000 + i);
      assert.equal(d.kind, 'granted');
      if (d.kind !== 'granted') return;
      assert.equal(d.payload.trackingNumber, '', 'a promo-code lease takes no number');
      codes.push(d.payload.promoCode!);
      state.apply(createEvent('LeaseGranted', d.payload, { siteId: site, producer: 't' }));
    }
    assert.equal(new Set(codes).size, 4);
    assert.ok(codes.every((c) => /^[AB]{2}$/.test(c)));
    const full = promo('p4', 2_000);
    assert.equal(full.kind === 'rejected' && full.payload.reason, 'codes_exhausted');
    state.apply(
      createEvent(
        'LeaseExpired',
        { leaseId: 'p0', sessionId: 's-p0', trackingNumber: '', releasedAtMs: 61_000, promoCode: codes[0] },
        { siteId: site, producer: 't' },
      ),
    );
    const again = promo('p5', 70_000);
    assert.equal(again.kind === 'granted' && again.payload.promoCode, codes[0], 'the only free code is the released one');
    if (again.kind === 'granted') state.apply(createEvent('LeaseGranted', again.payload, { siteId: site, producer: 't' }));
    // A call at 30 s belongs to the first holder; one at 80 s to the second; one before any holder to nobody.
    assert.equal(state.findPromoHolder(site, codes[0]!, 30_000)?.sessionId, 's-p0');
    assert.equal(state.findPromoHolder(site, codes[0]!, 65_000)?.sessionId, 's-p0', 'after its release, before the next holder');
    assert.equal(state.findPromoHolder(site, codes[0]!, 80_000)?.sessionId, 's-p5');
    assert.equal(state.findPromoHolder(site, codes[0]!, 500), undefined);
    assert.equal(state.siteStats(site)?.livePromoCodes, 4);
  });

  it('holds an ended session for one tail and ignores heartbeats after the end', () => {
    const state = new PoolState();
    configure(state, ['+74951000001'], 60);
    const lease = grant(state, 'r1', 0);
    const end = state.decideExtension(site, { leaseId: 'r1', sessionId: lease.payload.sessionId, requestedAtMs: 20_000, final: true } as never, 20_000);
    assert.equal(end?.expiresAtMs, 80_000);
    state.apply(createEvent('LeaseExtended', end, { siteId: site, producer: 't' }));
    assert.equal(state.decideExtension(site, { leaseId: 'r1', sessionId: lease.payload.sessionId, requestedAtMs: 40_000 } as never, 40_000), undefined);
  });
});

describe('PoolState lease request deadlines', () => {
  const withDeadline = (id: string, requestedAtMs: number, deadlineMs: number, method = '') =>
    ({ requestId: id, sessionId: `s-${id}`, visitorId: `v-${id}`, requestedAtMs, deadlineMs, method }) as never;
  const apply = (state: PoolState, d: ReturnType<PoolState['decide']>) => {
    if (d.kind === 'granted') state.apply(createEvent('LeaseGranted', d.payload, { siteId: site, producer: 't' }));
    if (d.kind === 'rejected') state.apply(createEvent('LeaseRejected', d.payload, { siteId: site, producer: 't', occurredAtMs: 0 }));
  };

  it('grants up to the deadline, answers expired after it, and counts the expired answers', () => {
    const state = new PoolState();
    configure(state, ['+74951000001', '+74951000002', '+74951000003']);
    const onTime = state.decide(site, withDeadline('r1', 1000, 2500), 2500);
    assert.equal(onTime.kind, 'granted');
    assert.equal((onTime as { payload: { requestDeadlineMs: number } }).payload.requestDeadlineMs, 2500);
    apply(state, onTime);
    const late = state.decide(site, withDeadline('r2', 1000, 2500), 2501);
    assert.deepEqual(late, {
      kind: 'rejected',
      payload: { requestId: 'r2', sessionId: 's-r2', visitorId: 'v-r2', clientKey: '', reason: 'expired', fallbackNumber: '+74950000000' },
    });
    apply(state, late);
    // The answered request stays answered: its redelivery is a duplicate, not a second chance.
    assert.equal(state.decide(site, withDeadline('r2', 1000, 2500), 2502).kind, 'duplicate');
    const stats = state.siteStats(site)!;
    assert.equal(stats.granted, 1);
    assert.equal(stats.expired, 1);
    assert.equal(stats.leased, 1);
    // An expired request is not demand the pool could have met: no shortage, no peak.
    assert.equal(stats.shortages, 0);
    assert.equal(stats.peakDemand, 1);
  });

  it('a request redelivered after its lease ended is a duplicate, not a second grant (found by the chaos run)', () => {
    const state = new PoolState();
    configure(state, ['+74951000001', '+74951000002']);
    const first = state.decide(site, withDeadline('r1', 1000, 60_000), 1000);
    assert.equal(first.kind, 'granted');
    apply(state, first);
    const { leaseId, trackingNumber } = (first as { payload: { leaseId: string; trackingNumber: string } }).payload;
    state.apply(
      createEvent(
        'LeaseExpired',
        { leaseId, sessionId: 's-r1', trackingNumber, releasedAtMs: 2000, promoCode: '', reason: '' },
        { siteId: site, producer: 't', occurredAtMs: 2000 },
      ),
    );
    assert.equal(state.siteStats(site)!.leased, 0);
    assert.equal(state.decide(site, withDeadline('r1', 1000, 60_000), 3000).kind, 'duplicate');
  });

  it('a second copy of an answer in the log (a publish retried after an unacknowledged send) changes nothing', () => {
    const state = new PoolState();
    configure(state, ['+74951000001', '+74951000002']);
    const first = state.decide(site, withDeadline('r1', 1000, 60_000), 1000);
    assert.equal(first.kind, 'granted');
    if (first.kind !== 'granted') return;
    const grant = createEvent('LeaseGranted', first.payload, { siteId: site, producer: 't' });
    state.apply(grant);
    state.apply(grant);
    assert.equal(state.siteStats(site)!.granted, 1);
    const { leaseId, trackingNumber } = (first as { payload: { leaseId: string; trackingNumber: string } }).payload;
    state.apply(
      createEvent(
        'LeaseExpired',
        { leaseId, sessionId: 's-r1', trackingNumber, releasedAtMs: 2000, promoCode: '', reason: '' },
        { siteId: site, producer: 't', occurredAtMs: 2000 },
      ),
    );
    // The copy read after the lease ended does not lease the number again.
    state.apply(grant);
    assert.equal(state.siteStats(site)!.leased, 0);
    assert.equal(state.siteStats(site)!.granted, 1);
  });

  it('a backlog of old requests takes no number, so the next live visitor still gets one', () => {
    const state = new PoolState();
    configure(state, ['+74951000001', '+74951000002']);
    const now = 100_000;
    for (let i = 0; i < 50; i += 1) apply(state, state.decide(site, withDeadline(`old${i}`, now - 38_000 + i, now - 36_500 + i), now));
    assert.equal(state.siteStats(site)!.leased, 0);
    assert.equal(state.siteStats(site)!.expired, 50);
    assert.equal(state.decide(site, withDeadline('fresh', now, now + 1250), now + 5).kind, 'granted');
  });

  it('expires promo-code requests and requests of unknown sites alike', () => {
    const state = new PoolState();
    configure(state, ['+74951000001']);
    const promo = state.decide(site, withDeadline('p1', 1000, 2000, 'promo_code'), 3000);
    assert.equal(promo.kind, 'rejected');
    assert.equal((promo as { payload: { reason: string } }).payload.reason, 'expired');
    const unknown = state.decide('site-unknown', withDeadline('u1', 1000, 2000), 3000);
    assert.equal((unknown as { payload: { reason: string; fallbackNumber: string } }).payload.reason, 'expired');
  });

  it('gives a request without a deadline (from an older tracker) 30 s from its request time', () => {
    const state = new PoolState();
    configure(state, ['+74951000001', '+74951000002']);
    assert.equal(state.decide(site, withDeadline('a', 1000, 0), 31_000).kind, 'granted');
    const late = state.decide(site, withDeadline('b', 1000, 0), 31_001);
    assert.equal((late as { payload: { reason: string } }).payload.reason, 'expired');
  });

  it('gives back a grant that reached the tracker too late: released at its grant time, counted, number free again', () => {
    const state = new PoolState();
    configure(state, ['+74951000001']);
    const d = state.decide(site, withDeadline('r1', 1000, 2000), 1900);
    assert.equal(d.kind, 'granted');
    apply(state, d);
    const number = (d as { payload: { trackingNumber: string } }).payload.trackingNumber;
    assert.equal(state.decideRelease(site, { leaseId: 'r1', sessionId: 'other', requestedAtMs: 2100 } as never), undefined);
    const release = state.decideRelease(site, { leaseId: 'r1', sessionId: 's-r1', requestedAtMs: 2100 } as never);
    assert.deepEqual(release, { leaseId: 'r1', sessionId: 's-r1', trackingNumber: number, releasedAtMs: 1900, promoCode: '', reason: 'undelivered' });
    state.apply(createEvent('LeaseExpired', release, { siteId: site, producer: 't' }));
    assert.equal(state.decideRelease(site, { leaseId: 'r1', sessionId: 's-r1', requestedAtMs: 2200 } as never), undefined);
    const stats = state.siteStats(site)!;
    assert.equal(stats.leased, 0);
    assert.equal(stats.undelivered, 1);
    assert.equal(state.decide(site, withDeadline('r2', 2200, 4000), 2300).kind, 'granted');
  });
});
