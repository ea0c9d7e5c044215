// The enquiry API on the real broker: signed with the site's generic secret, published as
// EnquiryReceived; forged and unsigned refused and counted, malformed and oversized refused
// with the field or limit named, a duplicate answered the same.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { calltrack, createEvent, encodeEvent, enquiryKey, siteKey, type DomainEvent } from '@calltrack/contracts';
import type { RunningService } from '@calltrack/service-kit';
import { createKafkaTestEnv, http, produceRaw, signGenericWebhook, TopicProbe, waitFor, type KafkaTestEnv } from '@calltrack/testing';
import { loadTelephonyIngestConfig } from '../config.js';
import { startTelephonyIngest } from '../telephony-ingest.app.js';

const ADMIN_TOKEN = 'test-admin-token-0123456789';
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
const SECRET = 'whsec_forms_0123456789abcdefghijklmnop';
const SITE = 'forms';

describe('enquiry API (integration)', () => {
  let env: KafkaTestEnv;
  let probe: TopicProbe;
  let svc: RunningService;

  const post = (body: unknown, headers?: Record<string, string>, site = SITE) => {
    const raw = typeof body === 'string' ? body : JSON.stringify(body);
    return http('POST', `${svc.url}/v1/sites/${site}/enquiries`, { rawBody: raw, headers: headers ?? signGenericWebhook(SECRET, raw) });
  };
  const form = (over: Record<string, unknown> = {}) => ({
    enquiryId: `form-${Math.random().toString(36).slice(2, 10)}`,
    kind: 'form',
    occurredAt: new Date(Date.now() - 60_000).toISOString(),
    sessionId: 'sess-1',
    visitorId: 'vis-1',
    phone: '8 (916) 123-45-67',
    email: 'Anna@Example.com',
    name: 'Anna',
    message: 'Call me about the sofa',
    pageUrl: 'https://forms.example/sofas',
    customFields: { product: 'sofa' },
    ...over,
  });
  const stats = async () => (await http('GET', `${svc.url}/v1/admin/sites/${SITE}/webhook-stats`, { headers: admin })).body.enquiries;

  before(async () => {
    env = await createKafkaTestEnv('enquiry-api');
    probe = await TopicProbe.start(env, ['enquiries']);
    await produceRaw(env, 'sites', [
      {
        key: siteKey(SITE),
        value: encodeEvent(
          createEvent(
            'SiteConfigured',
            { name: SITE, country: 'RU', timeZone: 'Europe/Moscow', defaultNumber: '+74950000000' },
            { siteId: SITE, producer: 'test' },
          ),
        ),
      },
    ]);
    const config = {
      ...loadTelephonyIngestConfig({ ...env.env, HTTP_HOST: '127.0.0.1', ADMIN_TOKEN, LOG_LEVEL: process.env['TEST_LOG_LEVEL'] ?? 'silent' }),
      PORT: 0,
    };
    svc = await startTelephonyIngest(config);
    await waitFor(async () => (await http('GET', `${svc.url}/readyz`)).status === 200, { what: 'telephony-ingest ready' });
    const set = await waitFor(
      async () => {
        const r = await http('PUT', `${svc.url}/v1/admin/sites/${SITE}/webhook-secret`, { body: { secret: SECRET }, headers: admin });
        return r.status === 200 && r;
      },
      { what: 'secret set' },
    );
    assert.equal(set.body.applied, true);
  });

  after(async () => {
    await svc?.close();
    await probe?.stop();
  });

  it('accepts a signed enquiry and publishes EnquiryReceived with the phone in E.164', async () => {
    const body = form({ enquiryId: 'form-1001' });
    const res = await post(body);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.enquiryId, 'form-1001');
    assert.equal(res.body.status, 'accepted');
    const record = await waitFor(() => probe.records.find((r) => r.key === enquiryKey(SITE, 'form-1001')), { what: 'EnquiryReceived' });
    const ev = probe.events('enquiries').find((e) => e.eventId === res.body.eventId) as DomainEvent<'EnquiryReceived'>;
    assert.ok(record && ev);
    assert.equal(ev.type, 'EnquiryReceived');
    assert.equal(ev.payload.kind, calltrack.events.v1.EnquiryKind.ENQUIRY_KIND_FORM);
    assert.equal(ev.payload.contactPhone, '+79161234567');
    assert.equal(ev.payload.contactEmail, 'anna@example.com');
    assert.equal(ev.payload.sessionId, 'sess-1');
    assert.deepEqual(ev.payload.customFields, { product: 'sofa' });
    assert.equal(ev.occurredAtMs, Date.parse(body.occurredAt));
  });

  it('answers a duplicate enquiry id the same (same event id), whatever the body', async () => {
    const first = await post(form({ enquiryId: 'form-dup' }));
    const again = await post(form({ enquiryId: 'form-dup', message: 'second try' }));
    assert.equal(first.status, 200);
    assert.equal(again.status, 200);
    assert.deepEqual(again.body, first.body);
  });

  it('refuses forged, unsigned and stale requests with 401 and counts each', async () => {
    const before = await stats();
    const body = JSON.stringify(form());
    const forged = await post(body, signGenericWebhook('whsec_wrong_secret_0123456789abcdefgh', body));
    assert.equal(forged.status, 401);
    assert.equal(forged.body.error.code, 'invalid_signature');
    const unsigned = await post(body, { 'content-type': 'application/json' });
    assert.equal(unsigned.status, 401);
    const stale = await post(body, signGenericWebhook(SECRET, body, Math.floor(Date.now() / 1000) - 3600));
    assert.equal(stale.status, 401);
    assert.equal(stale.body.error.code, 'stale_timestamp');
    // A signature over other bytes than those sent.
    const tampered = await post(JSON.stringify(form({ name: 'Mallory' })), signGenericWebhook(SECRET, body));
    assert.equal(tampered.status, 401);
    const after = await stats();
    assert.equal(after.rejected.signature_mismatch - before.rejected.signature_mismatch, 2);
    assert.equal(after.rejected.missing_signature - before.rejected.missing_signature, 1);
    assert.equal(after.rejected.stale_timestamp - before.rejected.stale_timestamp, 1);
  });

  it('refuses malformed bodies with 400 naming the field, and counts them', async () => {
    const before = await stats();
    const cases: Array<[unknown, string]> = [
      [form({ kind: 'letter' }), 'kind'],
      [form({ phone: '12' }), 'phone'],
      [form({ occurredAt: 'yesterday' }), 'occurredAt'],
      [form({ colour: 'red' }), 'colour'],
      // The time window and the id rule every adapter applies.
      [form({ occurredAt: '2001-03-01T10:00:00Z' }), 'occurredAt'],
      [form({ occurredAt: '9999-12-31T23:59:59Z' }), 'occurredAt'],
      [form({ enquiryId: 'has\u0000nul' }), 'enquiryId'],
      ['{"enquiryId": ', '(root)'],
    ];
    for (const [body, field] of cases) {
      const res = await post(body);
      assert.ok(res.status === 400, `${field}: ${res.status} ${JSON.stringify(res.body)}`);
      if (field !== '(root)')
        assert.ok(
          (res.body.error.details as Array<{ field: string }>).some((d) => d.field === field),
          JSON.stringify(res.body),
        );
    }
    const after = await stats();
    assert.equal(after.rejected.invalid_payload - before.rejected.invalid_payload, 7);
    assert.equal(
      (await http('POST', `${svc.url}/v1/sites/${SITE}/enquiries`, { rawBody: '<x/>', headers: { 'content-type': 'application/xml' } })).status,
      415,
    );
  });

  it('refuses an oversized body with 413 and an unknown site with 404', async () => {
    const big = form({ message: 'x'.repeat(70 * 1024) });
    assert.equal((await post(big)).status, 413);
    assert.equal((await post(form(), undefined, 'nosuch')).status, 404);
  });
});
