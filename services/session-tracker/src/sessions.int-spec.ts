import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadNumberPoolConfig, startNumberPool } from '@calltrack/number-pool';
import type { RunningService } from '@calltrack/service-kit';
import { createKafkaTestEnv, http, TopicProbe, waitFor, type KafkaTestEnv } from '@calltrack/testing';
import type { calltrack } from '@calltrack/contracts';
import { loadSessionTrackerConfig } from './config.js';
import { startSessionTracker } from './session-tracker.app.js';

const ADMIN = 'session-admin-token-0123456789';

describe('session-tracker with number-pool on the real broker', () => {
  let env: KafkaTestEnv;
  let pool: RunningService;
  let tracker: RunningService;
  let probe: TopicProbe;

  before(async () => {
    env = await createKafkaTestEnv('sessions');
    const base = { ...env.env, ADMIN_TOKEN: ADMIN, PORT: '0', HTTP_HOST: '127.0.0.1', LOG_LEVEL: 'warn' };
    pool = await startNumberPool(loadNumberPoolConfig(base));
    tracker = await startSessionTracker(loadSessionTrackerConfig({ ...base, LEASE_REPLY_TIMEOUT_MS: '5000' }));
    probe = await TopicProbe.start(env, ['sessions', 'poolEvents', 'poolCommands']);
    const put = await http('PUT', `${pool.url}/v1/admin/sites/shop`, {
      headers: { authorization: `Bearer ${ADMIN}` },
      body: {
        name: 'Shop',
        country: 'RU',
        timeZone: 'Europe/Moscow',
        defaultNumber: '8 (495) 000-00-00',
        poolNumbers: ['+7 495 000-00-01', '+7 495 000-00-02'],
      },
    });
    assert.equal(put.status, 200);
  });

  after(async () => {
    await probe.stop();
    await tracker.close();
    await pool.close();
  });

  // A browser's user agent: without one a visitor counts as a bot and gets no number.
  const BROWSER = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36';
  const start = (body: Record<string, unknown>) => http('POST', `${tracker.url}/v1/sessions`, { body: { userAgent: BROWSER, ...body } });

  it('gives distinct numbers to concurrent visitors, then the default number when the pool is exhausted', async () => {
    // Both services learn the site from the sites topic; until then a visitor sees the default number.
    await waitFor(async () => (await start({ siteId: 'shop', landingPage: 'https://shop.example/' })).body?.fallback === false, {
      what: 'the site to reach both services',
    });
    // The call above took one of the two numbers.
    const [a, b] = await Promise.all([
      start({ siteId: 'shop', landingPage: 'https://shop.example/?utm_source=google&utm_medium=cpc&gclid=x1', visitorId: 'visitor-aaaa' }),
      start({ siteId: 'shop', landingPage: 'https://shop.example/?utm_source=yandex&utm_medium=cpc', visitorId: 'visitor-bbbb' }),
    ]);
    const numbers = [a, b].filter((r) => !r.body.fallback).map((r) => r.body.number);
    assert.equal(numbers.length, 1, `one number was left: ${JSON.stringify([a.body, b.body])}`);
    const exhausted = [a, b].find((r) => r.body.fallback)!;
    assert.equal(exhausted.status, 201);
    assert.equal(exhausted.body.number, '+74950000000');
    assert.equal(exhausted.body.reason, 'pool_exhausted');

    const session = await waitFor(() => probe.events('sessions').find((e) => e.type === 'SessionStarted' && e.payload.visitorId === 'visitor-aaaa'), {
      what: 'SessionStarted',
    });
    const p = session.payload as calltrack.events.v1.SessionStarted;
    assert.equal(session.siteId, 'shop');
    assert.equal(session.schemaVersion, 2);
    // Written as VisitOrigin only: the flat fields of schema version 1 stay empty.
    assert.deepEqual([p.origin?.utm?.source, p.origin?.clickIds?.['gclid'], p.origin?.channel], ['google', 'x1', 'paid_search']);
    assert.deepEqual([p.utm, p.clickIds, p.channel, p.landingPage], [null, {}, '', '']);
    const rejection = await waitFor(() => probe.events('poolEvents').find((e) => e.type === 'LeaseRejected'), { what: 'the shortage event' });
    assert.equal(rejection.payload.reason, 'pool_exhausted');
    assert.equal(probe.events('poolEvents').filter((e) => e.type === 'LeaseGranted').length, 2);
    const stats = await http('GET', `${pool.url}/v1/admin/sites/shop/pool`, { headers: { authorization: `Bearer ${ADMIN}` } });
    assert.equal(stats.body.shortages, 1);
    assert.equal(stats.body.peakDemand, 3);
    assert.equal(stats.body.utilisation, 1);
    assert.equal(stats.body.recommendedPoolSize, 5);
  });

  it('gives bots the default number without taking a lease', async () => {
    const before = probe.events('poolEvents').length;
    const bot = await start({
      siteId: 'shop',
      landingPage: 'https://shop.example/',
      userAgent: 'Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)',
    });
    assert.equal(bot.status, 201);
    assert.equal(bot.body.fallback, true);
    assert.equal(bot.body.reason, 'bot');
    assert.equal(bot.body.number, '+74950000000');
    await waitFor(() => probe.events('sessions').find((e) => (e.payload as calltrack.events.v1.SessionStarted).sessionId === bot.body.sessionId), {
      what: 'the bot visit recorded',
    });
    assert.equal(
      probe.events('poolCommands').filter((e) => (e.payload as calltrack.events.v1.LeaseRequested).sessionId === bot.body.sessionId).length,
      0,
      'no lease requested',
    );
    assert.equal(probe.events('poolEvents').length, before);
  });

  it('holds the number for another tail on each heartbeat', async () => {
    // A lease granted by the test above; its session's page keeps beating.
    const lease = await waitFor(
      async () => {
        const r = await http('GET', `${pool.url}/v1/admin/sites/shop/pool`, { headers: { authorization: `Bearer ${ADMIN}` } });
        return r.body.leases[0];
      },
      { what: 'a live lease' },
    );
    await new Promise((r) => setTimeout(r, 1200));
    const beat = await http('POST', `${tracker.url}/v1/sessions/${lease.sessionId}/heartbeat`, { body: { siteId: 'shop', leaseId: lease.leaseId } });
    assert.equal(beat.status, 202, JSON.stringify(beat.body));
    const moved = await waitFor(
      async () => {
        const r = await http('GET', `${pool.url}/v1/admin/sites/shop/pool`, { headers: { authorization: `Bearer ${ADMIN}` } });
        const now = r.body.leases.find((l: { leaseId: string }) => l.leaseId === lease.leaseId);
        return now && now.expiresAtMs > lease.expiresAtMs ? now : undefined;
      },
      { what: 'the lease to be extended' },
    );
    assert.ok(moved.expiresAtMs - lease.expiresAtMs >= 1000);
    const extended = await waitFor(() => probe.events('poolEvents').find((e) => e.type === 'LeaseExtended' && e.payload.leaseId === lease.leaseId), {
      what: 'LeaseExtended',
    });
    assert.equal((extended.payload as calltrack.events.v1.LeaseExtended).trackingNumber, lease.trackingNumber);

    const bad = await http('POST', `${tracker.url}/v1/sessions/${lease.sessionId}/heartbeat`, { body: { siteId: 'shop' } });
    assert.equal(bad.status, 400);
    assert.match(bad.body.error.message, /leaseId/);
    const unknown = await http('POST', `${tracker.url}/v1/sessions/${lease.sessionId}/heartbeat`, { body: { siteId: 'elsewhere', leaseId: lease.leaseId } });
    assert.equal(unknown.status, 404);
    const badId = await http('POST', `${tracker.url}/v1/sessions/x/heartbeat`, { body: { siteId: 'shop', leaseId: lease.leaseId } });
    assert.equal(badId.status, 400);
  });

  it('answers bad input with a 4xx JSON error that names the problem', async () => {
    const cases: Array<[string, Parameters<typeof http>[2], number, string, RegExp]> = [
      ['invalid JSON', { rawBody: '{"siteId": "shop",', headers: { 'content-type': 'application/json' } }, 400, 'invalid_json', /JSON/i],
      ['missing field', { body: { siteId: 'shop' } }, 400, 'invalid_request', /landingPage/],
      ['wrong type', { body: { siteId: 'shop', landingPage: 42 } }, 400, 'invalid_request', /landingPage/],
      ['unknown field', { body: { siteId: 'shop', landingPage: 'https://a.example/', admin: true } }, 400, 'invalid_request', /admin/],
      ['bad visitor id', { body: { siteId: 'shop', landingPage: 'https://a.example/', visitorId: 'x' } }, 400, 'invalid_request', /visitorId/],
      ['non-http landing page', { body: { siteId: 'shop', landingPage: 'javascript:alert(1)' } }, 400, 'invalid_request', /landingPage/],
      ['oversized body', { body: { siteId: 'shop', landingPage: `https://a.example/?q=${'x'.repeat(40_000)}` } }, 413, 'body_too_large', /large/i],
      [
        'wrong content type',
        { rawBody: 'siteId=shop', headers: { 'content-type': 'application/xml' } },
        415,
        'unsupported_media_type',
        /content.type|media type/i,
      ],
      ['unknown site (wrong tenant)', { body: { siteId: 'someone-else', landingPage: 'https://a.example/' } }, 404, 'unknown_site', /someone-else/],
    ];
    for (const [name, options, status, code, message] of cases) {
      const r = await http('POST', `${tracker.url}/v1/sessions`, options);
      assert.equal(r.status, status, `${name}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body?.error?.code, code, `${name}: ${JSON.stringify(r.body)}`);
      assert.match(r.body.error.message, message, name);
    }
  });

  it('limits public requests per client address and per site with 429 and Retry-After', async () => {
    const limited = await startSessionTracker(
      loadSessionTrackerConfig({
        ...env.env,
        PORT: '0',
        HTTP_HOST: '127.0.0.1',
        LOG_LEVEL: 'warn',
        RATE_LIMIT_PER_ADDRESS_PER_MINUTE: '5',
        RATE_LIMIT_PER_SITE_PER_SECOND: '1000',
      }),
    );
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 7; i += 1) statuses.push((await http('POST', `${limited.url}/v1/sessions`, { body: { siteId: 'shop' } })).status);
      assert.deepEqual(statuses, [400, 400, 400, 400, 400, 429, 429], 'five a minute are judged on their own, then refused');
      const refused = await http('POST', `${limited.url}/v1/sessions`, { body: { siteId: 'shop' } });
      assert.equal(refused.body.error.code, 'rate_limited');
      assert.ok(Number(refused.headers.get('retry-after')) >= 1);
    } finally {
      await limited.close();
    }
    const perSite = await startSessionTracker(
      loadSessionTrackerConfig({
        ...env.env,
        PORT: '0',
        HTTP_HOST: '127.0.0.1',
        LOG_LEVEL: 'warn',
        RATE_LIMIT_PER_ADDRESS_PER_MINUTE: '1000',
        RATE_LIMIT_PER_SITE_PER_SECOND: '2',
      }),
    );
    try {
      const results = await Promise.all([1, 2, 3].map(() => http('POST', `${perSite.url}/v1/sessions`, { body: { siteId: 'busy-site' } })));
      assert.deepEqual(results.map((r) => r.status).sort(), [400, 400, 429]);
      const other = await http('POST', `${perSite.url}/v1/sessions`, { body: { siteId: 'quiet-site' } });
      assert.equal(other.status, 400, "another site's requests still pass");
    } finally {
      await perSite.close();
    }
  });

  it('refuses admin calls without a valid token', async () => {
    const none = await http('GET', `${pool.url}/v1/admin/sites/shop/pool`);
    assert.equal(none.status, 401);
    const wrong = await http('GET', `${pool.url}/v1/admin/sites/shop/pool`, { headers: { authorization: 'Bearer not-the-token' } });
    assert.equal(wrong.status, 403);
    const badNumber = await http('PUT', `${pool.url}/v1/admin/sites/shop`, {
      headers: { authorization: `Bearer ${ADMIN}` },
      body: { name: 'Shop', country: 'RU', timeZone: 'Europe/Moscow', defaultNumber: '12', poolNumbers: [] },
    });
    assert.equal(badNumber.status, 400);
    assert.match(badNumber.body.error.message, /defaultNumber/);
    const badZone = await http('PUT', `${pool.url}/v1/admin/sites/shop`, {
      headers: { authorization: `Bearer ${ADMIN}` },
      body: { name: 'Shop', country: 'RU', timeZone: 'Mars/Olympus', defaultNumber: '+74950000000' },
    });
    assert.equal(badZone.status, 400);
    assert.match(badZone.body.error.message, /timeZone/);
    const noOverflow = await http('PUT', `${pool.url}/v1/admin/sites/shop`, {
      headers: { authorization: `Bearer ${ADMIN}` },
      body: { name: 'Shop', country: 'RU', timeZone: 'Europe/Moscow', defaultNumber: '+74950000000', shortagePolicy: 'overflow_number' },
    });
    assert.equal(noOverflow.status, 400);
    assert.match(noOverflow.body.error.message, /overflowNumber/);
    const badPolicy = await http('PUT', `${pool.url}/v1/admin/sites/shop`, {
      headers: { authorization: `Bearer ${ADMIN}` },
      body: { name: 'Shop', country: 'RU', timeZone: 'Europe/Moscow', defaultNumber: '+74950000000', shortagePolicy: 'panic' },
    });
    assert.equal(badPolicy.status, 400);
    assert.match(badPolicy.body.error.message, /shortagePolicy/);
  });
});
