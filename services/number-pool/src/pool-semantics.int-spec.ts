// The pool's choice rules end to end on the real broker: stickiness, the
// longest-released free number, each shortage policy, and heartbeats holding a
// lease past its first expiry.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createEvent, siteKey, type AnyDomainEvent, type calltrack } from '@calltrack/contracts';
import { KafkaBus } from '@calltrack/kafka';
import type { RunningService } from '@calltrack/service-kit';
import { createKafkaTestEnv, http, testLogger, TopicProbe, waitFor, type KafkaTestEnv } from '@calltrack/testing';
import { loadNumberPoolConfig } from './config.js';
import { startNumberPool } from './number-pool.app.js';

const ADMIN = 'semantics-admin-token-0123456789';
const auth = { authorization: `Bearer ${ADMIN}` };
type Answer = Extract<AnyDomainEvent, { type: 'LeaseGranted' | 'LeaseRejected' }>;

describe('number-pool semantics on the real broker', () => {
  let env: KafkaTestEnv;
  let bus: KafkaBus;
  let probe: TopicProbe;
  let pool: RunningService;
  let n = 0;

  const site = (id: string, numbers: string[], extra: Partial<calltrack.events.v1.ISiteConfigured> = {}) =>
    bus.producer.publish(
      'sites',
      siteKey(id),
      createEvent(
        'SiteConfigured',
        { name: id, country: 'RU', timeZone: 'Europe/Moscow', defaultNumber: '+74956000000', poolNumbers: numbers, leaseTtlSeconds: 900, ...extra },
        { siteId: id, producer: 'test' },
      ),
    );
  /** Asks for a number as `visitor` and waits for the answer. */
  const ask = async (siteId: string, visitor: string): Promise<Answer> => {
    const id = `req-${(n += 1)}`;
    await bus.producer.publish(
      'poolCommands',
      siteKey(siteId),
      createEvent('LeaseRequested', { requestId: id, sessionId: `s-${id}`, visitorId: visitor, requestedAtMs: Date.now() }, { siteId, producer: 'test' }),
    );
    return waitFor(
      () => probe.events('poolEvents').find((e): e is Answer => (e.type === 'LeaseGranted' || e.type === 'LeaseRejected') && e.payload.requestId === id),
      { what: `answer to ${id}` },
    );
  };
  const numberOf = (a: Answer) => (a.type === 'LeaseGranted' ? a.payload.trackingNumber : `rejected:${a.payload.reason}:${a.payload.fallbackNumber}`);
  const expired = (leaseId: string) =>
    waitFor(() => probe.events('poolEvents').find((e) => e.type === 'LeaseExpired' && e.payload.leaseId === leaseId), {
      what: `expiry of ${leaseId}`,
      timeoutMs: 20_000,
    });

  before(async () => {
    env = await createKafkaTestEnv('semantics');
    bus = new KafkaBus({ ...env.settings, clientId: 'semantics-test' }, testLogger);
    await bus.connect();
    probe = await TopicProbe.start(env, ['poolEvents']);
    await site('sticky', ['+74956000001', '+74956000002', '+74956000003'], { leaseTtlSeconds: 1 });
    await site('policy-default', ['+74956100001']);
    await site('policy-overflow', ['+74956200001'], { shortagePolicy: 'overflow_number', overflowNumber: '+74956299999' });
    await site('policy-reuse', ['+74956300001', '+74956300002'], { shortagePolicy: 'reuse_oldest' });
    await site('heartbeat', ['+74956400001'], { leaseTtlSeconds: 2 });
    pool = await startNumberPool(
      loadNumberPoolConfig({ ...env.env, ADMIN_TOKEN: ADMIN, PORT: '0', HTTP_HOST: '127.0.0.1', LOG_LEVEL: 'warn', EXPIRY_SWEEP_INTERVAL_MS: '100' }),
    );
  });

  after(async () => {
    await pool.close();
    await probe.stop();
    await bus.close();
  });

  it('gives the free number released longest ago, and a returning visitor their own number while it is free', async () => {
    // Three visitors take the three numbers; all leases end after one second.
    const a = await ask('sticky', 'visitor-a');
    const b = await ask('sticky', 'visitor-b');
    const c = await ask('sticky', 'visitor-c');
    assert.deepEqual([a, b, c].map(numberOf), ['+74956000001', '+74956000002', '+74956000003'], 'never-used numbers in order');
    for (const x of [a, b, c]) await expired((x.payload as calltrack.events.v1.LeaseGranted).leaseId);
    // A new visitor gets the number released first (a's), not a returning visitor's preference.
    const d = await ask('sticky', 'visitor-d');
    assert.equal(numberOf(d), numberOf(a), 'the longest-released number');
    // visitor-c comes back: their number is still free, so it is theirs again (not b's, released earlier).
    const cAgain = await ask('sticky', 'visitor-c');
    assert.equal(numberOf(cAgain), numberOf(c), 'sticky');
    // visitor-a comes back: their number is taken by d, so they get the remaining one.
    const aAgain = await ask('sticky', 'visitor-a');
    assert.equal(numberOf(aAgain), numberOf(b));
  });

  it('applies each shortage policy, counting every shortage', async () => {
    await ask('policy-default', 'v1');
    assert.equal(numberOf(await ask('policy-default', 'v2')), 'rejected:pool_exhausted:+74956000000');
    await ask('policy-overflow', 'v1');
    assert.equal(numberOf(await ask('policy-overflow', 'v2')), 'rejected:pool_exhausted:+74956299999');
    const first = await ask('policy-reuse', 'v1');
    await ask('policy-reuse', 'v2');
    const third = await ask('policy-reuse', 'v3');
    assert.equal(numberOf(third), numberOf(first), 'the oldest live lease gives up its number');
    assert.equal((third.payload as calltrack.events.v1.LeaseGranted).reusedLeaseId, (first.payload as calltrack.events.v1.LeaseGranted).leaseId);
    for (const [id, shortages] of [
      ['policy-default', 1],
      ['policy-overflow', 1],
      ['policy-reuse', 1],
    ] as const) {
      const stats = (await http('GET', `${pool.url}/v1/admin/sites/${id}/pool`, { headers: auth })).body;
      assert.equal(stats.shortages, shortages, id);
      assert.equal(stats.peakDemand, id === 'policy-reuse' ? 3 : 2, id);
    }
  });

  it('holds a lease past its first expiry while heartbeats come, then releases it one tail after the last', async () => {
    const granted = (await ask('heartbeat', 'v1')).payload as calltrack.events.v1.LeaseGranted;
    const beatUntil = Date.now() + 4000;
    while (Date.now() < beatUntil) {
      await bus.producer.publish(
        'poolCommands',
        siteKey('heartbeat'),
        createEvent(
          'LeaseExtendRequested',
          { leaseId: granted.leaseId, sessionId: granted.sessionId, requestedAtMs: Date.now() },
          { siteId: 'heartbeat', producer: 'test' },
        ),
      );
      await new Promise((r) => setTimeout(r, 500));
    }
    const lastBeat = Date.now();
    assert.ok(
      !probe.events('poolEvents').some((e) => e.type === 'LeaseExpired' && e.payload.leaseId === granted.leaseId),
      'still held 4 s after a 2 s lease began',
    );
    assert.ok(probe.events('poolEvents').filter((e) => e.type === 'LeaseExtended' && e.payload.leaseId === granted.leaseId).length >= 3);
    const end = await expired(granted.leaseId);
    const releasedAt = Number((end.payload as calltrack.events.v1.LeaseExpired).releasedAtMs);
    // Heartbeats closer than a second to the current tail are not events, so the last one counted is at most ~1 s old.
    assert.ok(releasedAt >= lastBeat + 800 && releasedAt <= lastBeat + 2200, `released one tail after the last heartbeat (${releasedAt - lastBeat} ms)`);
  });
});
