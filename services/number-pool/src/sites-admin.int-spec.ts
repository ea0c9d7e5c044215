import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createEvent, siteKey, type calltrack } from '@calltrack/contracts';
import { KafkaBus } from '@calltrack/kafka';
import type { RunningService } from '@calltrack/service-kit';
import { createKafkaTestEnv, http, testLogger, TopicProbe, waitFor, type KafkaTestEnv } from '@calltrack/testing';
import { loadNumberPoolConfig } from './config.js';
import { startNumberPool } from './number-pool.app.js';

const ADMIN = 'sites-admin-token-0123456789';
const auth = { authorization: `Bearer ${ADMIN}` };

type NumberView = {
  number: string;
  usage: string;
  state: string;
  quarantineReason?: string;
  movedFromSite?: string;
  replacedBy?: string;
  source?: { utmSource: string; label: string };
};

describe('number-pool admin API: sites, inventory, rules (event-sourced on the real broker)', () => {
  let env: KafkaTestEnv;
  let pool: RunningService;
  let probe: TopicProbe;
  let bus: KafkaBus;
  const api = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    http(method, `${pool.url}/v1/admin${path}`, { headers: { ...auth, ...headers }, ...(body === undefined ? {} : { body }) });
  const numbers = async (site: string): Promise<Record<string, NumberView>> =>
    Object.fromEntries(((await api('GET', `/sites/${site}/numbers`)).body.numbers as NumberView[]).map((n) => [n.number, n]));
  const shop = {
    name: 'Shop',
    country: 'RU',
    timeZone: 'Europe/Moscow',
    defaultNumber: '8 (495) 100-00-00',
    otherSiteNumbers: ['8 800 100-00-00'],
    poolNumbers: ['+7 495 100-00-01', '+7 495 100-00-02'],
    staticNumbers: [{ number: '+7 495 100-00-50', utmSource: 'billboard', utmMedium: 'offline', label: 'ring road billboard' }],
  };

  before(async () => {
    env = await createKafkaTestEnv('sitesadmin');
    probe = await TopicProbe.start(env, ['sites']);
    bus = new KafkaBus({ ...env.settings, clientId: 'sites-admin-test' }, testLogger);
    await bus.connect();
    pool = await startNumberPool(loadNumberPoolConfig({ ...env.env, ADMIN_TOKEN: ADMIN, PORT: '0', HTTP_HOST: '127.0.0.1', LOG_LEVEL: 'warn' }));
  });

  after(async () => {
    await pool.close();
    await probe.stop();
    await bus.close();
  });

  it('creates a site as revision 1 with its inventory, and every change is the next revision on the sites topic', async () => {
    const put = await api('PUT', '/sites/shop', shop);
    assert.equal(put.status, 200, JSON.stringify(put.body));
    assert.equal(put.headers.get('etag'), '"1"');
    assert.equal(put.body.defaultNumber, '+74951000000');
    assert.deepEqual(put.body.otherSiteNumbers, ['+78001000000']);
    const got = await api('GET', '/sites/shop');
    assert.equal(got.body.revision, 1, 'read-your-writes: the GET right after sees the write');
    const inv = await numbers('shop');
    assert.equal(inv['+74951000001']?.state, 'available', "a new site's first numbers are not quarantined");
    assert.equal(inv['+74951000050']?.usage, 'static');
    assert.equal(inv['+74951000050']?.source?.label, 'ring road billboard');

    // A number added later waits out the quarantine (default one day).
    const added = await api('POST', '/sites/shop/numbers', { number: '+7 495 100-00-03', usage: 'pool' });
    assert.equal(added.status, 201, JSON.stringify(added.body));
    assert.equal(added.headers.get('etag'), '"2"', 'a write answers with the ETag of its revision');
    assert.equal((await numbers('shop'))['+74951000003']?.state, 'quarantined');
    assert.equal((await numbers('shop'))['+74951000003']?.quarantineReason, 'new_to_pool');
    const fresh = await api('POST', '/sites/shop/numbers', { number: '+7 495 100-00-04', usage: 'pool', skipQuarantine: true });
    assert.equal(fresh.status, 201);
    assert.equal((await numbers('shop'))['+74951000004']?.state, 'available');
    assert.equal((await api('POST', '/sites/shop/numbers', { number: '+7 495 100-00-04', usage: 'pool' })).status, 409, 'already in the inventory');

    // Operator quarantine, retiring, replacing a static number (it keeps its source).
    assert.equal((await api('POST', `/sites/shop/numbers/${encodeURIComponent('+74951000002')}/quarantine`)).status, 200);
    assert.equal((await numbers('shop'))['+74951000002']?.state, 'quarantined');
    assert.equal((await api('POST', `/sites/shop/numbers/${encodeURIComponent('+74951000050')}/quarantine`)).status, 400, 'static numbers are not quarantined');
    const retired = await api('POST', `/sites/shop/numbers/${encodeURIComponent('+74951000050')}/retire`, { replacedBy: '8 495 100-00-51' });
    assert.equal(retired.status, 200, JSON.stringify(retired.body));
    const after = await numbers('shop');
    assert.equal(after['+74951000050']?.state, 'retired');
    assert.equal(after['+74951000050']?.replacedBy, '+74951000051');
    assert.equal(after['+74951000051']?.source?.utmSource, 'billboard', 'the replacement takes over the source');
    assert.equal((await api('POST', `/sites/shop/numbers/${encodeURIComponent('+74951000050')}/retire`, {})).status, 409);
    assert.equal((await api('POST', `/sites/shop/numbers/${encodeURIComponent('+74951009999')}/retire`, {})).status, 404);

    // A PUT that leaves a number out retires it; nothing is deleted.
    const slim = await api('PUT', '/sites/shop', {
      ...shop,
      poolNumbers: ['+7 495 100-00-01'],
      staticNumbers: [{ number: '+7 495 100-00-51', utmSource: 'billboard' }],
    });
    assert.equal(slim.status, 200, JSON.stringify(slim.body));
    const kept = await numbers('shop');
    assert.equal(kept['+74951000002']?.state, 'retired');
    assert.equal(kept['+74951000050']?.state, 'retired');
    assert.equal(kept['+74951000001']?.state, 'available');
    assert.deepEqual(slim.body.poolNumbers, ['+74951000001']);

    // Every change was one SiteConfigured with the next revision.
    const revisions = await waitFor(
      () => {
        const r = probe
          .events('sites')
          .filter((e) => e.siteId === 'shop')
          .map((e) => Number((e.payload as calltrack.events.v1.SiteConfigured).revision));
        return r.length === slim.body.revision ? r : undefined;
      },
      { what: 'every revision on the topic' },
    );
    assert.deepEqual(
      revisions,
      Array.from({ length: revisions.length }, (_, i) => i + 1),
    );
  });

  it('moves a number between sites only after the first retires it, and quarantines it on arrival', async () => {
    const other = { ...shop, name: 'Other', defaultNumber: '+7 495 200-00-00', otherSiteNumbers: [], poolNumbers: ['+7 495 200-00-01'], staticNumbers: [] };
    assert.equal((await api('PUT', '/sites/other', other)).status, 200);
    const taken = await api('POST', '/sites/other/numbers', { number: '+74951000001', usage: 'pool' });
    assert.equal(taken.status, 409);
    assert.equal(taken.body.error.code, 'number_in_use');
    assert.match(taken.body.error.message, /site shop/);
    assert.equal((await api('POST', `/sites/shop/numbers/${encodeURIComponent('+74951000001')}/retire`, {})).status, 200);
    assert.equal((await api('POST', '/sites/other/numbers', { number: '+74951000001', usage: 'pool', skipQuarantine: false })).status, 201);
    const moved = (await numbers('other'))['+74951000001'];
    assert.equal(moved?.state, 'quarantined');
    assert.equal(moved?.quarantineReason, 'moved_from_site');
    assert.equal(moved?.movedFromSite, 'shop');
  });

  it('validates tracking rules against the inventory, and refuses a change based on a stale revision', async () => {
    const bad = await api('PUT', '/sites/shop/rules', { rules: [{ utmSource: 'flyer', method: 'static', staticNumber: '+74951000003' }] });
    assert.equal(bad.status, 400);
    assert.match(bad.body.error.message, /rules\.0\.staticNumber: \+74951000003 is not an active static number/);
    const unknownChannel = await api('PUT', '/sites/shop/rules', { rules: [{ channels: ['tv'], method: 'dynamic' }] });
    assert.equal(unknownChannel.status, 400);
    assert.match(unknownChannel.body.error.message, /rules\.0\.channels\.0/);
    const current = await api('GET', '/sites/shop/rules');
    const rules = [
      { id: 'billboard', utmSource: 'billboard', method: 'static', staticNumber: '8 495 100-00-51' },
      { channels: ['organic_search'], method: 'promo_code' },
    ];
    const stale = await api('PUT', '/sites/shop/rules', { rules }, { 'if-match': '"1"' });
    assert.equal(stale.status, 412);
    assert.equal(stale.body.error.code, 'revision_mismatch');
    const ok = await api('PUT', '/sites/shop/rules', { rules }, { 'if-match': current.headers.get('etag') ?? '' });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.deepEqual(
      ok.body.rules.map((r: { id: string; staticNumber?: string }) => [r.id, r.staticNumber ?? '']),
      [
        ['billboard', '+74951000051'],
        ['rule-2', ''],
      ],
    );
    assert.equal((await api('GET', '/sites/shop')).body.rules.length, 2);
  });

  it('meets bad input with a 4xx JSON error that names the problem', async () => {
    const malformed = await fetch(`${pool.url}/v1/admin/sites/shop`, {
      method: 'PUT',
      headers: { ...auth, 'content-type': 'application/json' },
      body: '{"name": ',
    });
    assert.equal(malformed.status, 400);
    assert.equal(((await malformed.json()) as { error: { code: string } }).error.code, 'invalid_json');
    const unknownField = await api('PUT', '/sites/shop', { ...shop, colour: 'blue' });
    assert.equal(unknownField.status, 400);
    assert.match(unknownField.body.error.message, /colour/);
    const badNumber = await api('PUT', '/sites/shop', { ...shop, poolNumbers: ['+7 495 100-00-01', '12345'] });
    assert.equal(badNumber.status, 400);
    assert.match(badNumber.body.error.message, /poolNumbers\.1/);
    const badPromo = await api('PUT', '/sites/shop', { ...shop, promoCodes: { length: 2 } });
    assert.equal(badPromo.status, 400);
    assert.match(badPromo.body.error.message, /promoCodes\.length/);
    assert.equal((await http('GET', `${pool.url}/v1/admin/sites/shop`)).status, 401);
    assert.equal((await http('GET', `${pool.url}/v1/admin/sites/shop`, { headers: { authorization: 'Bearer wrong-token-wrong-token' } })).status, 403);
    const unknown = await api('GET', '/sites/nowhere/numbers');
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error.code, 'unknown_site');
    const oversized = await api('PUT', '/sites/shop', { ...shop, name: 'x'.repeat(1_100_000) });
    assert.equal(oversized.status, 413);
  });

  it('takes over a configuration published without inventory (older producers): every listed number active, kept by later changes', async () => {
    const legacy = {
      name: 'Legacy',
      country: 'RU',
      timeZone: 'Europe/Moscow',
      defaultNumber: '+74954000000',
      poolNumbers: ['+74954000001', '+74954000002'],
      staticNumbers: [{ number: '+74954000050', utmSource: 'flyer' }],
    };
    await bus.producer.publish('sites', siteKey('legacy'), createEvent('SiteConfigured', legacy, { siteId: 'legacy', producer: 'test' }));
    const listed = await waitFor(
      async () => {
        const r = await api('GET', '/sites/legacy/numbers');
        return r.status === 200 ? (r.body.numbers as NumberView[]) : undefined;
      },
      { what: 'the legacy site to be read' },
    );
    assert.deepEqual(
      listed.map((n) => [n.number, n.usage, n.state]),
      [
        ['+74954000001', 'pool', 'available'],
        ['+74954000002', 'pool', 'available'],
        ['+74954000050', 'static', 'available'],
      ],
    );
    // Its numbers count as taken for other sites.
    const taken = await api('POST', '/sites/shop/numbers', { number: '+74954000050', usage: 'static' });
    assert.deepEqual([taken.status, taken.body.error?.code], [409, 'number_in_use']);
    // A rules-only change keeps the pool and may point at the legacy static number.
    const rules = await api(
      'PUT',
      '/sites/legacy/rules',
      { rules: [{ id: 'flyer', utmSource: 'flyer', method: 'static', staticNumber: '+74954000050' }] },
      { 'if-match': '"0"' },
    );
    assert.equal(rules.status, 200, JSON.stringify(rules.body));
    assert.equal(rules.headers.get('etag'), '"1"');
    const site = await api('GET', '/sites/legacy');
    assert.deepEqual([site.body.revision, site.body.poolNumbers], [1, ['+74954000001', '+74954000002']]);
  });

  it('serves its OpenAPI document, generated from the validation schemas', async () => {
    const doc = await http('GET', `${pool.url}/v1/admin/openapi.json`);
    assert.equal(doc.status, 200);
    assert.equal(doc.body.openapi, '3.1.0');
    assert.ok(doc.body.paths['/v1/admin/sites/{siteId}/numbers/{number}/retire'].post);
    assert.ok(doc.body.components.schemas.Site.properties.poolNumbers, 'the site schema lists its fields');
    assert.deepEqual(doc.body.components.schemas.Rules.properties.rules.items.properties.method.enum, ['dynamic', 'static', 'promo_code', 'default_number']);
  });
});
