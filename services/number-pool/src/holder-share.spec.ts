// The holder-share step of PoolState.decide: one visitor, or one client address, holds at
// most its share of a site's pool; further requests are shown a number it already holds.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createEvent, type DomainEvent } from '@calltrack/contracts';
import { holderShareLimit, PoolState, type Decision } from './pool-state.js';

const site = 'share';
const numbers = Array.from({ length: 20 }, (_, i) => `+7495200${String(i).padStart(4, '0')}`);
let seq = 0;

function stateWith(percent: number): PoolState {
  const state = new PoolState({ holderSharePercent: percent });
  state.apply(
    createEvent(
      'SiteConfigured',
      { name: 'Share', country: 'RU', timeZone: 'Europe/Moscow', defaultNumber: '+74950000000', poolNumbers: numbers, leaseTtlSeconds: 900 },
      { siteId: site, producer: 't' },
    ),
  );
  return state;
}

/** Decides a request and applies its answer, as number-pool does. */
function ask(state: PoolState, holder: { visitorId: string; clientKey?: string }, now = 1000): Decision {
  seq += 1;
  const requestId = `req-${seq}`;
  const d = state.decide(
    site,
    { requestId, sessionId: `s-${seq}`, visitorId: holder.visitorId, clientKey: holder.clientKey ?? '', requestedAtMs: now, method: '' } as never,
    now,
  );
  if (d.kind === 'granted') state.apply(createEvent('LeaseGranted', d.payload, { siteId: site, producer: 't' }));
  if (d.kind === 'rejected') state.apply(createEvent('LeaseRejected', d.payload, { siteId: site, producer: 't', occurredAtMs: now }));
  return d;
}

const granted = (d: Decision): DomainEvent<'LeaseGranted'>['payload'] => {
  assert.equal(d.kind, 'granted', JSON.stringify(d));
  return d.payload as DomainEvent<'LeaseGranted'>['payload'];
};
const rejected = (d: Decision): DomainEvent<'LeaseRejected'>['payload'] => {
  assert.equal(d.kind, 'rejected', JSON.stringify(d));
  return d.payload as DomainEvent<'LeaseRejected'>['payload'];
};

describe('holder share', () => {
  it('is a percentage of the pool, at least one number', () => {
    assert.equal(holderShareLimit(60, 5), 3);
    assert.equal(holderShareLimit(20, 5), 1);
    assert.equal(holderShareLimit(1, 5), 1);
    assert.equal(holderShareLimit(20, 10), 2);
  });

  it('an address rotating visitor ids holds its share, then is shown its own numbers; other addresses still get numbers', () => {
    const state = stateWith(10); // 2 of 20
    const mine = [ask(state, { visitorId: 'bot-1', clientKey: 'addr-A' }), ask(state, { visitorId: 'bot-2', clientKey: 'addr-A' })].map(
      (d) => granted(d).trackingNumber,
    );
    assert.notEqual(mine[0], mine[1]);
    for (let i = 3; i < 30; i += 1) {
      const answer = rejected(ask(state, { visitorId: `bot-${i}`, clientKey: 'addr-A' }));
      assert.equal(answer.reason, 'holder_share');
      assert.equal(answer.fallbackNumber, mine[1], 'the latest number the address holds');
    }
    assert.equal(state.siteStats(site)?.leased, 2, 'the flood took no third number');
    assert.equal(state.siteStats(site)?.holderShareReuses, 27);
    const others = Array.from({ length: 18 }, (_, i) => granted(ask(state, { visitorId: `person-${i}`, clientKey: `addr-${i}` })).trackingNumber);
    assert.equal(new Set([...others, ...mine]).size, 20, 'the rest of the pool went to other holders');
  });

  it('a visitor reaching its share from several addresses reuses its number', () => {
    const state = stateWith(5); // 1 of 20
    const first = granted(ask(state, { visitorId: 'visitor-1', clientKey: 'addr-home' }));
    const again = rejected(ask(state, { visitorId: 'visitor-1', clientKey: 'addr-mobile' }));
    assert.equal(again.reason, 'holder_share');
    assert.equal(again.fallbackNumber, first.trackingNumber);
    // Requests without a client key (older session-trackers) are held to the visitor share only.
    granted(ask(state, { visitorId: 'visitor-2' }));
    granted(ask(state, { visitorId: 'visitor-3' }));
  });

  it('frees the share when the lease ends, also after a rebuild from the events', () => {
    const state = stateWith(5);
    const first = granted(ask(state, { visitorId: 'visitor-9', clientKey: 'addr-9' }));
    assert.equal(rejected(ask(state, { visitorId: 'visitor-x', clientKey: 'addr-9' })).reason, 'holder_share');
    // A rebuilt state (the same events) knows the holder of the live lease.
    const rebuilt = stateWith(5);
    rebuilt.apply(createEvent('LeaseGranted', first, { siteId: site, producer: 't' }));
    assert.equal(rejected(ask(rebuilt, { visitorId: 'visitor-y', clientKey: 'addr-9' })).reason, 'holder_share');
    rebuilt.apply(
      createEvent(
        'LeaseExpired',
        { leaseId: first.leaseId, sessionId: first.sessionId, trackingNumber: first.trackingNumber, releasedAtMs: 2000 },
        { siteId: site, producer: 't' },
      ),
    );
    granted(ask(rebuilt, { visitorId: 'visitor-z', clientKey: 'addr-9' }, 3000));
  });

  it('is off at 0 percent', () => {
    const state = stateWith(0);
    for (let i = 0; i < 5; i += 1) granted(ask(state, { visitorId: 'same', clientKey: 'same' }));
  });
});
