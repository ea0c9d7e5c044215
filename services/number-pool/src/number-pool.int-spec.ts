import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createEvent, siteKey, type calltrack } from '@calltrack/contracts';
import { KafkaBus } from '@calltrack/kafka';
import type { RunningService } from '@calltrack/service-kit';
import { createKafkaTestEnv, http, testLogger, TopicProbe, waitFor, type KafkaTestEnv } from '@calltrack/testing';
import { loadNumberPoolConfig } from './config.js';
import { startNumberPool } from './number-pool.app.js';

const ADMIN = 'pool-admin-token-0123456789';
const auth = { authorization: `Bearer ${ADMIN}` };

describe('number-pool on the real broker', () => {
  let env: KafkaTestEnv;
  let bus: KafkaBus;
  let probe: TopicProbe;
  let pool: RunningService;
  const config = () =>
    loadNumberPoolConfig({ ...env.env, ADMIN_TOKEN: ADMIN, PORT: '0', HTTP_HOST: '127.0.0.1', LOG_LEVEL: 'warn', EXPIRY_SWEEP_INTERVAL_MS: '100' });
  const request = (site: string, id: string) =>
    bus.producer.publish(
      'poolCommands',
      siteKey(site),
      createEvent('LeaseRequested', { requestId: id, sessionId: id, visitorId: `v-${id}`, requestedAtMs: Date.now() }, { siteId: site, producer: 'test' }),
    );
  const answer = (id: string) =>
    waitFor(() => probe.events('poolEvents').find((e) => (e.type === 'LeaseGranted' || e.type === 'LeaseRejected') && e.payload.requestId === id), {
      what: `answer to ${id}`,
    });

  before(async () => {
    env = await createKafkaTestEnv('pool');
    bus = new KafkaBus({ ...env.settings, clientId: 'pool-test' }, testLogger);
    await bus.connect();
    probe = await TopicProbe.start(env, ['poolEvents', { dlq: 'poolCommands' }]);
    // A one-second lease TTL is below what the admin API accepts; the event is published directly.
    for (const [site, ttl] of [
      ['short', 1],
      ['long', 900],
    ] as const) {
      await bus.producer.publish(
        'sites',
        siteKey(site),
        createEvent(
          'SiteConfigured',
          {
            name: site,
            country: 'RU',
            timeZone: 'Europe/Moscow',
            defaultNumber: '+74950000000',
            poolNumbers: ['+74950000001', '+74950000002'],
            leaseTtlSeconds: ttl,
          },
          { siteId: site, producer: 'test' },
        ),
      );
    }
    pool = await startNumberPool(config());
  });

  after(async () => {
    await pool.close();
    await probe.stop();
    await bus.close();
  });

  it('releases a lease when its time is up, and gives the number out again', async () => {
    await request('short', 'short-1');
    const granted = await answer('short-1');
    assert.equal(granted.type, 'LeaseGranted');
    const expired = await waitFor(() => probe.events('poolEvents').find((e) => e.type === 'LeaseExpired' && e.payload.leaseId === granted.payload.leaseId), {
      what: 'LeaseExpired',
    });
    assert.equal((expired.payload as calltrack.events.v1.LeaseExpired).trackingNumber, granted.payload.trackingNumber);
    await waitFor(async () => (await http('GET', `${pool.url}/v1/admin/sites/short/pool`, { headers: auth })).body?.leased === 0, {
      what: 'the pool to be free again',
    });
  });

  it('answers a duplicated command once and keeps live leases across a restart', async () => {
    await request('long', 'long-1');
    await request('long', 'long-1');
    const first = await answer('long-1');
    assert.equal(first.type, 'LeaseGranted');
    await request('long', 'long-2');
    await answer('long-2');
    const answers = probe.events('poolEvents').filter((e) => e.type === 'LeaseGranted' && e.siteId === 'long');
    assert.equal(answers.length, 2, 'the duplicate request took no second number');

    await pool.close();
    pool = await startNumberPool(config());
    const state = await http('GET', `${pool.url}/v1/admin/sites/long/pool`, { headers: auth });
    assert.equal(state.body.leased, 2);
    assert.deepEqual(state.body.leases.map((l: { leaseId: string }) => l.leaseId).sort(), ['long-1', 'long-2']);
    await request('long', 'long-3');
    const third = await answer('long-3');
    assert.equal(third.type, 'LeaseRejected', 'both numbers are still leased after the restart');
    assert.equal(third.payload.reason, 'pool_exhausted');
  });
});
