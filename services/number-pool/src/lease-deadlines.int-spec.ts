// Lease request deadlines on the real broker: a request read after its deadline
// (a backlog after an outage) is answered "expired" and takes no number, and a
// grant given back by session-tracker (it arrived too late) frees its number at once.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createEvent, siteKey, type AnyDomainEvent, type calltrack } from '@calltrack/contracts';
import { KafkaBus } from '@calltrack/kafka';
import type { RunningService } from '@calltrack/service-kit';
import { createKafkaTestEnv, http, testLogger, TopicProbe, waitFor, type KafkaTestEnv } from '@calltrack/testing';
import { loadNumberPoolConfig } from './config.js';
import { startNumberPool } from './number-pool.app.js';

const ADMIN = 'deadlines-admin-token-0123456789';
const auth = { authorization: `Bearer ${ADMIN}` };
type Answer = Extract<AnyDomainEvent, { type: 'LeaseGranted' | 'LeaseRejected' }>;

describe('number-pool lease deadlines on the real broker', () => {
  let env: KafkaTestEnv;
  let bus: KafkaBus;
  let probe: TopicProbe;
  let pool: RunningService;

  const answerTo = (requestId: string) =>
    waitFor(
      () => probe.events('poolEvents').find((e): e is Answer => (e.type === 'LeaseGranted' || e.type === 'LeaseRejected') && e.payload.requestId === requestId),
      { what: `answer to ${requestId}` },
    );
  const request = (siteId: string, requestId: string, requestedAtMs: number, deadlineMs: number) =>
    bus.producer.publish(
      'poolCommands',
      siteKey(siteId),
      createEvent(
        'LeaseRequested',
        { requestId, sessionId: `s-${requestId}`, visitorId: `v-${requestId}`, requestedAtMs, deadlineMs },
        { siteId, producer: 'test', occurredAtMs: requestedAtMs },
      ),
    );
  const stats = async (siteId: string) => (await http('GET', `${pool.url}/v1/admin/sites/${siteId}/pool`, { headers: auth })).body;

  before(async () => {
    env = await createKafkaTestEnv('deadlines');
    bus = new KafkaBus({ ...env.settings, clientId: 'deadlines-test' }, testLogger);
    await bus.connect();
    probe = await TopicProbe.start(env, ['poolEvents']);
    for (const [id, number] of [
      ['backlog', '+74957000001'],
      ['late-grant', '+74957100001'],
    ] as const) {
      await bus.producer.publish(
        'sites',
        siteKey(id),
        createEvent(
          'SiteConfigured',
          { name: id, country: 'RU', timeZone: 'Europe/Moscow', defaultNumber: '+74957000000', poolNumbers: [number], leaseTtlSeconds: 900 },
          { siteId: id, producer: 'test' },
        ),
      );
    }
    pool = await startNumberPool(loadNumberPoolConfig({ ...env.env, ADMIN_TOKEN: ADMIN, PORT: '0', HTTP_HOST: '127.0.0.1', LOG_LEVEL: 'warn' }));
  });

  after(async () => {
    await pool.close();
    await probe.stop();
    await bus.close();
  });

  it('answers requests whose deadline has passed as expired, grants none of them, and leaves the number to a live visitor', async () => {
    const now = Date.now();
    // What a backlog after an outage looks like: requests made 38 s ago whose visitors were shown the default number long since.
    for (let i = 0; i < 5; i += 1) await request('backlog', `old-${i}`, now - 38_000 + i, now - 36_500 + i);
    for (let i = 0; i < 5; i += 1) {
      const answer = await answerTo(`old-${i}`);
      assert.equal(answer.type, 'LeaseRejected', `old-${i} is not granted`);
      assert.equal(answer.payload.reason, 'expired');
      assert.equal(answer.payload.fallbackNumber, '+74957000000');
    }
    // A live visitor after the backlog (same partition, so read after it) gets the site's only number.
    await request('backlog', 'live', Date.now(), Date.now() + 60_000);
    const live = await answerTo('live');
    assert.equal(live.type, 'LeaseGranted');
    assert.equal(live.payload.trackingNumber, '+74957000001');
    assert.ok(Number(live.payload.grantedAtMs) <= Number(live.payload.requestDeadlineMs), 'granted before its deadline');
    assert.equal(
      probe.events('poolEvents').filter((e) => e.type === 'LeaseGranted' && e.payload.requestId.startsWith('old-')).length,
      0,
      'no lease for an expired request',
    );
    const s = await waitFor(
      async () => {
        const body = await stats('backlog');
        return body.expired === 5 && body.granted === 1 ? body : undefined;
      },
      { what: 'the expired answers counted' },
    );
    assert.equal(s.leased, 1);
    assert.equal(s.shortages, 0, 'an expired request is no shortage');
  });

  it('frees a grant session-tracker gave back at once, released at its grant time', async () => {
    await request('late-grant', 'raced', Date.now(), Date.now() + 60_000);
    const grant = (await answerTo('raced')).payload as calltrack.events.v1.LeaseGranted;
    assert.ok(grant.leaseId);
    await bus.producer.publish(
      'poolCommands',
      siteKey('late-grant'),
      createEvent(
        'LeaseReleaseRequested',
        { leaseId: grant.leaseId, sessionId: grant.sessionId, requestedAtMs: Date.now() },
        { siteId: 'late-grant', producer: 'test' },
      ),
    );
    const released = await waitFor(() => probe.events('poolEvents').find((e) => e.type === 'LeaseExpired' && e.payload.leaseId === grant.leaseId), {
      what: 'the given-back lease ended',
    });
    const p = released.payload as calltrack.events.v1.LeaseExpired;
    assert.equal(p.reason, 'undelivered');
    assert.equal(Number(p.releasedAtMs), Number(grant.grantedAtMs));
    await request('late-grant', 'next', Date.now(), Date.now() + 60_000);
    const next = await answerTo('next');
    assert.equal(next.type, 'LeaseGranted', 'the number is free again');
    const s = await waitFor(
      async () => {
        const body = await stats('late-grant');
        return body.undelivered === 1 && body.granted === 2 ? body : undefined;
      },
      { what: 'the given-back lease counted' },
    );
    assert.equal(s.leased, 1);
  });
});
