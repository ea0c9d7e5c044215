import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createEvent, siteKey, type AnyDomainEvent, type calltrack } from '@calltrack/contracts';
import { KafkaBus } from '@calltrack/kafka';
import type { RunningService } from '@calltrack/service-kit';
import { createKafkaTestEnv, http, testLogger, TopicProbe, waitFor, type KafkaTestEnv } from '@calltrack/testing';
import { loadNumberPoolConfig } from './config.js';
import { startNumberPool } from './number-pool.app.js';

const ADMIN = 'pool-admin-token-0123456789';
const auth = { authorization: `Bearer ${ADMIN}` };
const FREE = '+74952000001';
const QUARANTINED = '+74952000002';

describe('number-pool: quarantine and promo codes on the real broker', () => {
  let env: KafkaTestEnv;
  let bus: KafkaBus;
  let probe: TopicProbe;
  let pool: RunningService;

  const request = (site: string, id: string, method = '') =>
    bus.producer.publish(
      'poolCommands',
      siteKey(site),
      createEvent(
        'LeaseRequested',
        { requestId: id, sessionId: `s-${id}`, visitorId: `v-${id}`, requestedAtMs: Date.now(), method },
        { siteId: site, producer: 'test' },
      ),
    );
  const answer = (id: string) =>
    waitFor(
      () =>
        probe
          .events('poolEvents')
          .find(
            (e): e is Extract<AnyDomainEvent, { type: 'LeaseGranted' | 'LeaseRejected' }> =>
              (e.type === 'LeaseGranted' || e.type === 'LeaseRejected') && e.payload.requestId === id,
          ),
      { what: `answer to ${id}` },
    );
  const call = (site: string, callId: string, number: string, atMs: number) =>
    bus.producer.publish(
      'calls',
      `${site}:${callId}`,
      createEvent(
        'CallReported',
        {
          callId,
          provider: 'generic',
          providerCallId: callId,
          trackingNumber: number,
          callerNumber: '+79161234567',
          direction: 1,
          status: 1,
          startedAtMs: atMs,
          sequence: 1,
        },
        { siteId: site, producer: 'test' },
      ),
    );

  before(async () => {
    env = await createKafkaTestEnv('quarantine');
    bus = new KafkaBus({ ...env.settings, clientId: 'quarantine-test' }, testLogger);
    await bus.connect();
    probe = await TopicProbe.start(env, ['poolEvents']);
    const now = Date.now();
    await bus.producer.publishMany([
      {
        topic: 'sites',
        key: siteKey('quiet'),
        event: createEvent(
          'SiteConfigured',
          {
            name: 'quiet',
            country: 'RU',
            timeZone: 'Europe/Moscow',
            defaultNumber: '+74952000000',
            poolNumbers: [FREE, QUARANTINED],
            numbers: [
              { number: FREE, usage: 'pool', status: 'active', addedAtMs: now },
              {
                number: QUARANTINED,
                usage: 'pool',
                status: 'active',
                addedAtMs: now,
                quarantinedFromMs: now,
                quarantineReason: 'moved_from_site',
                movedFromSite: 'other',
              },
            ],
            quarantineSeconds: 6,
            leaseTtlSeconds: 900,
          },
          { siteId: 'quiet', producer: 'test' },
        ),
      },
      {
        topic: 'sites',
        key: siteKey('promo'),
        event: createEvent(
          'SiteConfigured',
          {
            name: 'promo',
            country: 'RU',
            timeZone: 'Europe/Moscow',
            defaultNumber: '+74953000000',
            leaseTtlSeconds: 900,
            promoCodes: { length: 4, alphabet: 'ABCDEFGHJK', prefix: 'WEB-' },
          },
          { siteId: 'promo', producer: 'test' },
        ),
      },
    ]);
    pool = await startNumberPool(
      loadNumberPoolConfig({ ...env.env, ADMIN_TOKEN: ADMIN, PORT: '0', HTTP_HOST: '127.0.0.1', LOG_LEVEL: 'warn', EXPIRY_SWEEP_INTERVAL_MS: '100' }),
    );
  });

  after(async () => {
    await pool.close();
    await probe.stop();
    await bus.close();
  });

  it('does not lease a quarantined number until it has had no calls for the period; calls to idle numbers are recorded', async () => {
    await request('quiet', 'q1');
    assert.equal(((await answer('q1')).payload as calltrack.events.v1.LeaseGranted).trackingNumber, FREE);
    await request('quiet', 'q2');
    const refused = await answer('q2');
    assert.equal(refused.type, 'LeaseRejected', 'the only other number is quarantined');

    // A call to the quarantined number (someone still dials it) restarts its quiet period.
    const callAt = Date.now();
    await call('quiet', 'generic:late-1', QUARANTINED, callAt);
    const observed = await waitFor(() => probe.events('poolEvents').find((e) => e.type === 'NumberCallObserved' && e.payload.callId === 'generic:late-1'), {
      what: 'the call to be recorded',
    });
    assert.equal((observed.payload as calltrack.events.v1.NumberCallObserved).numberState, 'quarantined');
    const numbers = (await http('GET', `${pool.url}/v1/admin/sites/quiet/numbers`, { headers: auth })).body;
    const states = Object.fromEntries((numbers.numbers ?? numbers).map((n: { number: string; state: string }) => [n.number, n.state]));
    assert.equal(states[QUARANTINED], 'quarantined');
    assert.equal(states[FREE], 'leased');

    const ended = await waitFor(() => probe.events('poolEvents').find((e) => e.type === 'NumberQuarantineEnded' && e.siteId === 'quiet'), {
      what: 'the quarantine to end',
      timeoutMs: 15_000,
    });
    assert.ok(Number((ended.payload as calltrack.events.v1.NumberQuarantineEnded).endedAtMs) >= callAt + 6000, 'quiet for the whole period after the call');
    await request('quiet', 'q3');
    assert.equal(((await answer('q3')).payload as calltrack.events.v1.LeaseGranted).trackingNumber, QUARANTINED);

    // A call's repeated reports count once; the stats say what state each called number was in.
    await call('quiet', 'generic:late-1', QUARANTINED, callAt);
    await call('quiet', 'generic:c2', FREE, Date.now());
    await waitFor(() => probe.events('poolEvents').some((e) => e.type === 'NumberCallObserved' && e.payload.callId === 'generic:c2'), {
      what: 'the second call',
    });
    const stats = (await http('GET', `${pool.url}/v1/admin/sites/quiet/pool`, { headers: auth })).body;
    assert.deepEqual(stats.callsByNumberState, { leased: 1, free: 0, quarantined: 1, retired: 0 });
    assert.equal(probe.events('poolEvents').filter((e) => e.type === 'NumberCallObserved').length, 2);
  });

  it('gives promo-code sessions codes unique among live sessions and links a call to the session through the redemption API', async () => {
    const ids = Array.from({ length: 30 }, (_, i) => `promo-${i}`);
    for (const id of ids) await request('promo', id, 'promo_code');
    const grants = await Promise.all(ids.map(async (id) => (await answer(id)).payload as calltrack.events.v1.LeaseGranted));
    const codes = grants.map((g) => g.promoCode);
    assert.equal(new Set(codes).size, codes.length, 'unique among live sessions');
    assert.ok(
      codes.every((c) => /^[A-HJK]{4}$/.test(c)),
      `codes of the site's alphabet and length: ${codes.join(',')}`,
    );
    assert.ok(
      grants.every((g) => g.trackingNumber === ''),
      'a promo-code session takes no number',
    );

    const url = (code: string) => `${pool.url}/v1/admin/sites/promo/promo-codes/${encodeURIComponent(code)}/redemptions`;
    const target = grants[7]!;
    // As an operator types it: lower case, with the printed prefix.
    const first = await http('POST', url(`web-${target.promoCode.toLowerCase()}`), {
      headers: auth,
      body: { callId: 'twilio:CA0001', redeemedBy: 'operator-1' },
    });
    assert.equal(first.status, 201, JSON.stringify(first.body));
    assert.equal(first.body.sessionId, target.sessionId);
    assert.equal(first.body.visitorId, target.visitorId);
    const redeemed = await waitFor(() => probe.events('poolEvents').find((e) => e.type === 'PromoCodeRedeemed' && e.payload.callId === 'twilio:CA0001'), {
      what: 'PromoCodeRedeemed',
    });
    assert.equal((redeemed.payload as calltrack.events.v1.PromoCodeRedeemed).sessionId, target.sessionId);

    const again = await http('POST', url(target.promoCode), { headers: auth, body: { callId: 'twilio:CA0001' } });
    assert.equal(again.status, 200);
    assert.equal(again.body.duplicate, true);
    const other = await http('POST', url(grants[8]!.promoCode), { headers: auth, body: { callId: 'twilio:CA0001' } });
    assert.equal(other.status, 409);
    assert.equal(other.body.error.code, 'call_already_linked');

    const byCaller = await http('POST', url(grants[9]!.promoCode), {
      headers: auth,
      body: { callerNumber: '8 916 765-43-21', calledAt: new Date().toISOString() },
    });
    assert.equal(byCaller.status, 201, JSON.stringify(byCaller.body));
    assert.equal(byCaller.body.callerNumber, '+79167654321');
    assert.equal(byCaller.body.sessionId, grants[9]!.sessionId);

    const unknownCode = await http('POST', url('ZZZZ'), { headers: auth, body: { callId: 'twilio:CA0002' } });
    assert.equal(unknownCode.status, 404);
    assert.equal(unknownCode.body.error.code, 'promo_code_not_found');
    const beforeIssued = await http('POST', url(target.promoCode), { headers: auth, body: { callerNumber: '+79160000000', calledAt: '2020-01-01T00:00:00Z' } });
    assert.equal(beforeIssued.status, 404, 'nobody held the code at that time');
    const empty = await http('POST', url(target.promoCode), { headers: auth, body: {} });
    assert.equal(empty.status, 400);
    assert.match(empty.body.error.message, /callId/);
    const badCaller = await http('POST', url(target.promoCode), { headers: auth, body: { callerNumber: '12', calledAt: new Date().toISOString() } });
    assert.equal(badCaller.status, 400);
    assert.match(badCaller.body.error.message, /callerNumber/);
    assert.equal((await http('POST', url(target.promoCode), { body: { callId: 'x:1' } })).status, 401);
    assert.equal(
      (await http('POST', `${pool.url}/v1/admin/sites/nowhere/promo-codes/ABCD/redemptions`, { headers: auth, body: { callId: 'x:1' } })).status,
      404,
    );

    const stats = (await http('GET', `${pool.url}/v1/admin/sites/promo/pool`, { headers: auth })).body;
    assert.equal(stats.livePromoCodes, 30);
    assert.equal(stats.promoCodesRedeemed, 2);
  });
});
