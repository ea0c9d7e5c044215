// A site mixing methods through its ordered tracking rules: a static number for a
// billboard campaign, promo codes for organic search, dynamic numbers for paid
// search with a click id, the default number for everything else.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadNumberPoolConfig, startNumberPool } from '@calltrack/number-pool';
import type { RunningService } from '@calltrack/service-kit';
import { createKafkaTestEnv, http, TopicProbe, waitFor, type KafkaTestEnv } from '@calltrack/testing';
import type { calltrack } from '@calltrack/contracts';
import { loadSessionTrackerConfig } from './config.js';
import { startSessionTracker } from './session-tracker.app.js';

const ADMIN = 'rules-admin-token-0123456789';
const BROWSER = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36';

describe('session-tracker: tracking rules decide the method of each visit', () => {
  let env: KafkaTestEnv;
  let pool: RunningService;
  let tracker: RunningService;
  let probe: TopicProbe;
  const start = (landingPage: string, referrer = '') =>
    http('POST', `${tracker.url}/v1/sessions`, { body: { siteId: 'mixed', landingPage, referrer, userAgent: BROWSER } });

  before(async () => {
    env = await createKafkaTestEnv('rules');
    const base = { ...env.env, ADMIN_TOKEN: ADMIN, PORT: '0', HTTP_HOST: '127.0.0.1', LOG_LEVEL: 'warn' };
    pool = await startNumberPool(loadNumberPoolConfig(base));
    tracker = await startSessionTracker(loadSessionTrackerConfig({ ...base, LEASE_REPLY_TIMEOUT_MS: '5000' }));
    probe = await TopicProbe.start(env, ['sessions', 'poolCommands']);
    const put = await http('PUT', `${pool.url}/v1/admin/sites/mixed`, {
      headers: { authorization: `Bearer ${ADMIN}` },
      body: {
        name: 'Mixed',
        country: 'RU',
        timeZone: 'Europe/Moscow',
        defaultNumber: '+7 495 300-00-00',
        poolNumbers: ['+7 495 300-00-01', '+7 495 300-00-02'],
        staticNumbers: [{ number: '+7 495 300-00-50', utmSource: 'billboard', utmMedium: 'offline', label: 'billboard' }],
        promoCodes: { length: 5, prefix: 'WEB-' },
        rules: [
          { id: 'billboard', utmSource: 'billboard', method: 'static', staticNumber: '+7 495 300-00-50' },
          { id: 'seo', channels: ['organic_search'], method: 'promo_code' },
          { id: 'ads', channels: ['paid_search'], clickId: 'present', method: 'dynamic' },
          { id: 'rest', method: 'default_number' },
        ],
      },
    });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    await waitFor(async () => (await start('https://mixed.example/?utm_source=billboard')).body?.method === 'static', {
      what: 'the site to reach session-tracker',
    });
  });

  after(async () => {
    await probe.stop();
    await tracker.close();
    await pool.close();
  });

  it('static: the bound number at once, no lease', async () => {
    const r = await start('https://mixed.example/?utm_source=billboard&utm_medium=offline');
    assert.equal(r.status, 201);
    assert.deepEqual([r.body.method, r.body.number, r.body.fallback, r.body.leaseId], ['static', '+74953000050', false, undefined]);
    const session = await waitFor(() => probe.events('sessions').find((e) => e.type === 'SessionStarted' && e.payload.sessionId === r.body.sessionId));
    assert.equal((session.payload as calltrack.events.v1.SessionStarted).trackingMethod, 'static');
    assert.equal((session.payload as calltrack.events.v1.SessionStarted).ruleId, 'billboard');
    assert.ok(!probe.events('poolCommands').some((e) => e.type === 'LeaseRequested' && e.payload.sessionId === r.body.sessionId), 'no lease requested');
  });

  it('promo_code: the default number and a code with the site prefix, unique per live session', async () => {
    const [a, b] = await Promise.all([start('https://mixed.example/', 'https://www.google.com/'), start('https://mixed.example/', 'https://yandex.ru/')]);
    for (const r of [a, b]) {
      assert.equal(r.body.method, 'promo_code', JSON.stringify(r.body));
      assert.equal(r.body.number, '+74953000000');
      assert.match(r.body.promoCode, /^WEB-[A-Z2-9]{5}$/);
    }
    assert.notEqual(a.body.promoCode, b.body.promoCode);
    const request = await waitFor(() => probe.events('poolCommands').find((e) => e.type === 'LeaseRequested' && e.payload.sessionId === a.body.sessionId));
    assert.equal((request.payload as calltrack.events.v1.LeaseRequested).method, 'promo_code');
  });

  it('dynamic for paid search with a click id; the default number by the catch-all rule otherwise', async () => {
    const paid = await start('https://mixed.example/?utm_source=google&utm_medium=cpc&gclid=abc');
    assert.equal(paid.body.method, 'dynamic');
    assert.match(paid.body.number, /^\+7495300000[12]$/);
    assert.ok(paid.body.leaseId);
    const direct = await start('https://mixed.example/');
    assert.deepEqual([direct.body.method, direct.body.number, direct.body.fallback], ['default_number', '+74953000000', false]);
    const session = await waitFor(() => probe.events('sessions').find((e) => e.type === 'SessionStarted' && e.payload.sessionId === paid.body.sessionId));
    assert.deepEqual(
      [(session.payload as calltrack.events.v1.SessionStarted).trackingMethod, (session.payload as calltrack.events.v1.SessionStarted).ruleId],
      ['dynamic', 'ads'],
    );
  });

  it('a replaced static number hands its rule to the replacement; once retired outright the rule falls through', async () => {
    const admin = (path: string, body: unknown) =>
      http('POST', `${pool.url}/v1/admin/sites/mixed${path}`, { headers: { authorization: `Bearer ${ADMIN}` }, body });
    const billboard = 'https://mixed.example/?utm_source=billboard';
    assert.equal((await admin(`/numbers/${encodeURIComponent('+74953000050')}/retire`, { replacedBy: '+7 495 300-00-51' })).status, 200);
    const replaced = await waitFor(
      async () => {
        const r = await start(billboard);
        return r.body.number === '+74953000051' ? r : undefined;
      },
      { what: 'the replacement to reach session-tracker' },
    );
    assert.equal(replaced.body.method, 'static');
    assert.equal((await admin(`/numbers/${encodeURIComponent('+74953000051')}/retire`, {})).status, 200);
    const fallen = await waitFor(
      async () => {
        const r = await start(billboard);
        return r.body.method !== 'static' ? r : undefined;
      },
      { what: 'the retirement to reach session-tracker' },
    );
    // utm_source=billboard without a click id: the catch-all rule decides.
    assert.deepEqual([fallen.body.method, fallen.body.number], ['default_number', '+74953000000']);
    const session = await waitFor(() => probe.events('sessions').find((e) => e.type === 'SessionStarted' && e.payload.sessionId === fallen.body.sessionId));
    assert.equal((session.payload as calltrack.events.v1.SessionStarted).ruleId, 'rest');
  });
});
