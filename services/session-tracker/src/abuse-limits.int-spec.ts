// Abuse on the real broker: one client address or visitor cannot take a site's pool
// (holder share, decided by number-pool), X-Forwarded-For is believed only from a
// configured proxy, and JSON answers carry the security headers.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadNumberPoolConfig, startNumberPool } from '@calltrack/number-pool';
import type { RunningService } from '@calltrack/service-kit';
import { createKafkaTestEnv, http, TopicProbe, waitFor, type KafkaTestEnv } from '@calltrack/testing';
import type { calltrack } from '@calltrack/contracts';
import { loadSessionTrackerConfig } from './config.js';
import { startSessionTracker } from './session-tracker.app.js';

const ADMIN = 'abuse-admin-token-0123456789';
const SITE = 'shared-pool';
const BROWSER = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36';
const POOL = Array.from({ length: 20 }, (_, i) => `+7 495 300-00-${String(i + 10)}`);

interface Answer {
  sessionId: string;
  number: string;
  leaseId?: string;
  fallback: boolean;
  reason?: string;
}

describe('session-tracker abuse limits (real broker)', () => {
  let env: KafkaTestEnv;
  let pool: RunningService;
  /** Behind a proxy on loopback: believes X-Forwarded-For from 127.0.0.1. */
  let proxied: RunningService;
  /** The default: believes no X-Forwarded-For. */
  let direct: RunningService;
  let probe: TopicProbe;

  const start = (svc: RunningService, body: Record<string, unknown>, headers: Record<string, string> = {}) =>
    http('POST', `${svc.url}/v1/sessions`, { body: { siteId: SITE, landingPage: 'https://shop.example/', userAgent: BROWSER, ...body }, headers });

  before(async () => {
    env = await createKafkaTestEnv('abuse-share');
    const base = { ...env.env, ADMIN_TOKEN: ADMIN, PORT: '0', HTTP_HOST: '127.0.0.1', LOG_LEVEL: process.env['TEST_LOG_LEVEL'] ?? 'warn' };
    // 10 % of 20 numbers: two per visitor and per address.
    pool = await startNumberPool(loadNumberPoolConfig({ ...base, POOL_HOLDER_SHARE_PERCENT: '10' }));
    const trackerEnv = { ...base, LEASE_REPLY_TIMEOUT_MS: '10000', CLIENT_ADDRESS_HASH_KEY: 'abuse-test-hash-key-0123456789' };
    proxied = await startSessionTracker(loadSessionTrackerConfig({ ...trackerEnv, HTTP_TRUST_PROXY: '127.0.0.1' }));
    direct = await startSessionTracker(loadSessionTrackerConfig(trackerEnv));
    probe = await TopicProbe.start(env, ['sessions', 'poolCommands']);
    const put = await http('PUT', `${pool.url}/v1/admin/sites/${SITE}`, {
      headers: { authorization: `Bearer ${ADMIN}` },
      body: { name: 'Shared', country: 'RU', timeZone: 'Europe/Moscow', defaultNumber: '+7 495 300-00-00', poolNumbers: POOL },
    });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    for (const svc of [proxied, direct]) {
      await waitFor(async () => (await start(svc, { visitorId: 'warm-up-visitor' }, { 'x-forwarded-for': '192.0.2.250' })).status === 201, {
        what: 'the site to reach session-tracker',
      });
    }
  });

  after(async () => {
    await probe?.stop();
    await proxied?.close();
    await direct?.close();
    await pool?.close();
  });

  it('believes X-Forwarded-For only from a configured proxy', async () => {
    const spoofed = await start(direct, { visitorId: 'xff-visitor-1' }, { 'x-forwarded-for': '203.0.113.77' });
    const honoured = await start(proxied, { visitorId: 'xff-visitor-2' }, { 'x-forwarded-for': '203.0.113.78' });
    assert.equal(spoofed.status, 201);
    assert.equal(honoured.status, 201);
    const clientIp = async (sessionId: string) =>
      await waitFor(() => probe.events('sessions').find((e) => e.type === 'SessionStarted' && e.payload.sessionId === sessionId), {
        what: `SessionStarted ${sessionId}`,
      }).then((e) => (e.payload as calltrack.events.v1.SessionStarted).clientIp);
    assert.equal(await clientIp((spoofed.body as Answer).sessionId), '127.0.0.1', 'a header from an untrusted peer is ignored');
    assert.equal(await clientIp((honoured.body as Answer).sessionId), '203.0.113.78', 'the trusted proxy names the client');
  });

  it('one address rotating visitor ids holds two numbers; its further sessions are shown them; other addresses still get numbers', async () => {
    const flood: Answer[] = [];
    for (let i = 0; i < 8; i += 1) {
      const r = await start(proxied, { visitorId: `rotating-${i}-abcdef` }, { 'x-forwarded-for': '198.51.100.7' });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      flood.push(r.body as Answer);
    }
    const leased = flood.filter((a) => a.leaseId);
    assert.equal(leased.length, 2, JSON.stringify(flood));
    const held = new Set(leased.map((a) => a.number));
    assert.equal(held.size, 2);
    for (const a of flood.filter((x) => !x.leaseId)) {
      assert.equal(a.reason, 'holder_share');
      assert.equal(a.fallback, true);
      assert.ok(held.has(a.number), `${a.number} is one of the address's numbers`);
    }
    // Other people (other addresses) still get numbers of their own.
    const others: Answer[] = [];
    for (let i = 0; i < 5; i += 1)
      others.push((await start(proxied, { visitorId: `someone-${i}-abcdef` }, { 'x-forwarded-for': `198.51.100.${20 + i}` })).body as Answer);
    for (const a of others) {
      assert.ok(a.leaseId, JSON.stringify(a));
      assert.ok(!held.has(a.number));
    }
    // The address goes on the topic only as a keyed hash.
    const requests = probe
      .events('poolCommands')
      .filter((e) => e.type === 'LeaseRequested')
      .map((e) => e.payload);
    const floodRequests = requests.filter((r) => r.visitorId.startsWith('rotating-'));
    assert.equal(floodRequests.length, 8);
    assert.equal(new Set(floodRequests.map((r) => r.clientKey)).size, 1);
    assert.ok(floodRequests[0]!.clientKey.length >= 16);
    assert.ok(
      !probe.records.some((r) => r.topic === env.topic('poolCommands') && r.value?.includes(Buffer.from('198.51.100.7'))),
      'no raw address on pool-commands',
    );
    const stats = await waitFor(
      async () => {
        const r = await http('GET', `${pool.url}/v1/admin/sites/${SITE}/pool`, { headers: { authorization: `Bearer ${ADMIN}` } });
        return r.status === 200 && (r.body as { holderShareReuses: number }).holderShareReuses >= 6 && r.body;
      },
      { what: 'holder-share reuses in the stats' },
    );
    assert.equal((stats as { holderShareReuses: number }).holderShareReuses, 6);
  });

  it('one visitor opening many sessions from several addresses holds two numbers', async () => {
    const answers: Answer[] = [];
    for (let i = 0; i < 5; i += 1)
      answers.push((await start(proxied, { visitorId: 'one-visitor-many-tabs' }, { 'x-forwarded-for': `192.0.2.${10 + i}` })).body as Answer);
    const leased = answers.filter((a) => a.leaseId);
    assert.equal(leased.length, 2, JSON.stringify(answers));
    for (const a of answers.filter((x) => !x.leaseId)) {
      assert.equal(a.reason, 'holder_share');
      assert.ok(leased.some((l) => l.number === a.number));
    }
  });

  it('JSON answers carry nosniff and no-store; the tracker script keeps its own caching', async () => {
    const r = await start(direct, { visitorId: 'headers-visitor' });
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(r.headers.get('cache-control'), 'no-store');
    const error = await http('POST', `${direct.url}/v1/sessions`, { body: { siteId: SITE } });
    assert.equal(error.status, 400);
    assert.equal(error.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(error.headers.get('cache-control'), 'no-store');
    const script = await fetch(`${direct.url}/v1/sites/${SITE}/tracker.js`);
    assert.equal(script.status, 200);
    assert.equal(script.headers.get('x-content-type-options'), 'nosniff');
    assert.match(script.headers.get('cache-control') ?? '', /max-age/);
    assert.ok(script.headers.get('etag'));
  });
});
