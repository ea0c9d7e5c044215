import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { calltrack, callKey, createEvent, siteKey, visitorKey, type DomainEvent } from '@calltrack/contracts';
import { KafkaBus } from '@calltrack/kafka';
import type { RunningService } from '@calltrack/service-kit';
import { createKafkaTestEnv, http, produceRaw, testLogger, TopicProbe, waitFor, type KafkaTestEnv } from '@calltrack/testing';
import { startAttribution } from './attribution.app.js';
import { loadAttributionConfig } from './config.js';

const { CallStatus, Verdict } = calltrack.events.v1;
const ADMIN = 'attribution-admin-token-0123456789';
const auth = { authorization: `Bearer ${ADMIN}` };
const SITE = 'shop';
const MIN = 60_000;

describe('attribution on the real broker and the embedded ClickHouse engine', () => {
  let env: KafkaTestEnv;
  let bus: KafkaBus;
  let probe: TopicProbe;
  let service: RunningService;
  const now = Date.now();

  const send = async (topic: Parameters<KafkaBus['producer']['publish']>[0], key: string, event: DomainEvent) => bus.producer.publish(topic, key, event);
  const screened = (callId: string, number: string, opts: { caller?: string; startedAtMs?: number; status?: number; sequence?: number; verdict?: number } = {}) =>
    createEvent(
      'CallScreened',
      {
        call: { callId, provider: 'generic', providerCallId: callId, trackingNumber: number, callerNumber: opts.caller ?? '+79165554433', status: opts.status ?? CallStatus.CALL_STATUS_COMPLETED, startedAtMs: opts.startedAtMs ?? now - MIN, answeredAtMs: (opts.startedAtMs ?? now - MIN) + 5000, endedAtMs: (opts.startedAtMs ?? now - MIN) + 65_000, sequence: opts.sequence ?? 3 },
        verdict: opts.verdict ?? Verdict.VERDICT_CLEAN,
        reason: opts.verdict === Verdict.VERDICT_SPAM ? 'blocklisted: robocalls' : '',
      },
      { siteId: SITE, producer: 'test' },
    );
  const stored = (callId: string, pred: (row: Record<string, unknown>) => boolean = () => true) =>
    waitFor(async () => {
      const r = await http('GET', `${service.url}/v1/sites/${SITE}/calls/${encodeURIComponent(callId)}`, { headers: auth });
      return r.status === 200 && pred(r.body) ? (r.body as Record<string, unknown>) : undefined;
    }, { what: `call ${callId} in ClickHouse`, timeoutMs: 30_000 });

  before(async () => {
    env = await createKafkaTestEnv('attribution');
    bus = new KafkaBus({ ...env.settings, clientId: 'attribution-test' }, testLogger);
    await bus.connect();
    await send('sites', siteKey(SITE), createEvent('SiteConfigured', { name: 'Shop', country: 'RU', timeZone: 'Europe/Moscow', defaultNumber: '+74950000000', poolNumbers: ['+74951000001', '+74951000002'], staticNumbers: [{ number: '+74957770000', utmSource: 'billboard', utmMedium: 'offline', utmCampaign: 'moscow-ring' }] }, { siteId: SITE, producer: 'test' }));
    // A visit from Google that took +74951000001; a second visit whose lease ended 5 minutes ago.
    await send('sessions', visitorKey(SITE, 'v1'), createEvent('SessionStarted', { sessionId: 's1', visitorId: 'v1', startedAtMs: now - 10 * MIN, utm: { source: 'google', medium: 'cpc', campaign: 'brand' }, landingPage: 'https://shop.example/?utm_source=google', clickIds: { gclid: 'g1' }, analyticsIds: { gaClientId: '1.2' }, userAgent: 'Mozilla/5.0' }, { siteId: SITE, producer: 'test' }));
    await send('poolEvents', siteKey(SITE), createEvent('LeaseGranted', { requestId: 'l1', leaseId: 'l1', sessionId: 's1', visitorId: 'v1', trackingNumber: '+74951000001', grantedAtMs: now - 10 * MIN, expiresAtMs: now + 5 * MIN }, { siteId: SITE, producer: 'test' }));
    await send('sessions', visitorKey(SITE, 'v2'), createEvent('SessionStarted', { sessionId: 's2', visitorId: 'v2', startedAtMs: now - 30 * MIN, utm: { source: 'yandex', medium: 'cpc' }, landingPage: 'https://shop.example/', userAgent: 'Mozilla/5.0' }, { siteId: SITE, producer: 'test' }));
    await send('poolEvents', siteKey(SITE), createEvent('LeaseGranted', { requestId: 'l2', leaseId: 'l2', sessionId: 's2', visitorId: 'v2', trackingNumber: '+74951000002', grantedAtMs: now - 30 * MIN, expiresAtMs: now - 15 * MIN }, { siteId: SITE, producer: 'test' }));
    await send('poolEvents', siteKey(SITE), createEvent('LeaseExpired', { leaseId: 'l2', sessionId: 's2', trackingNumber: '+74951000002', releasedAtMs: now - 15 * MIN }, { siteId: SITE, producer: 'test' }));
    probe = await TopicProbe.start(env, ['attributedCalls', { dlq: 'screenedCalls' }]);
    service = await startAttribution(
      loadAttributionConfig({ ...env.env, ADMIN_TOKEN: ADMIN, PORT: '0', HTTP_HOST: '127.0.0.1', LOG_LEVEL: 'warn', CLICKHOUSE_DATABASE: `attr_${randomUUID().slice(0, 8)}`, CLICKHOUSE_DATA_DIR: process.env['CLICKHOUSE_DATA_DIR'] ?? '', ATTRIBUTION_STATE_WAIT_MS: '3000' }),
    );
  });

  after(async () => {
    await service.close();
    await probe.stop();
    await bus.close();
  });

  it('credits a call to the visit that held the number, in ClickHouse and on attributed-calls', async () => {
    const e = screened('c1', '+74951000001');
    await send('screenedCalls', callKey(SITE, 'c1'), e);
    const row = await stored('c1');
    assert.equal(row['utm_source'], 'google');
    assert.equal(row['utm_campaign'], 'brand');
    assert.equal(row['match_method'], 'dynamic');
    assert.equal(row['match_reason'], 'lease_active');
    assert.equal(row['session_id'], 's1');
    assert.equal(row['talk_seconds'], 60);
    const out = await waitFor(() => probe.events('attributedCalls').find((x) => x.eventId === `${e.eventId}:attributed`), { what: 'CallAttributed' });
    const p = out.payload as calltrack.events.v1.CallAttributed;
    assert.equal(p.final, true);
    assert.equal(p.clickIds['gclid'], 'g1');
    assert.equal(p.analyticsIds?.gaClientId, '1.2');
  });

  it('matches within the grace period after release, a static number to its source, and says why a call is unmatched', async () => {
    await send('screenedCalls', callKey(SITE, 'c2'), screened('c2', '+74951000002', { startedAtMs: now - 10 * MIN }));
    await send('screenedCalls', callKey(SITE, 'c3'), screened('c3', '+74957770000'));
    await send('screenedCalls', callKey(SITE, 'c4'), screened('c4', '+74959999999'));
    const grace = await stored('c2');
    assert.equal(grace['match_reason'], 'lease_released_within_grace');
    assert.equal(grace['utm_source'], 'yandex');
    const offline = await stored('c3');
    assert.equal(offline['match_method'], 'static');
    assert.equal(offline['utm_source'], 'billboard');
    const lost = await stored('c4');
    assert.equal(lost['match_method'], 'unmatched');
    assert.equal(lost['match_reason'], 'number_not_tracked');
  });

  it('stores spam with its verdict, keeps one row per call, and never lets an older report win', async () => {
    await send('screenedCalls', callKey(SITE, 'spam'), screened('spam', '+74951000001', { verdict: Verdict.VERDICT_SPAM }));
    assert.equal((await stored('spam'))['verdict'], 'spam');

    const dup = screened('c5', '+74951000001', { sequence: 3 });
    await send('screenedCalls', callKey(SITE, 'c5'), dup);
    await send('screenedCalls', callKey(SITE, 'c5'), dup);
    await send('screenedCalls', callKey(SITE, 'c5'), screened('c5', '+74951000001', { sequence: 1, status: CallStatus.CALL_STATUS_RINGING }));
    await waitFor(() => probe.events('attributedCalls').filter((x) => (x.payload as calltrack.events.v1.CallAttributed).call?.callId === 'c5').length >= 2, { what: 'both copies of c5' });
    const marker = screened('c6', '+74951000001');
    await send('screenedCalls', callKey(SITE, 'c6'), marker);
    await stored('c6');
    const row = await stored('c5');
    assert.equal(row['status'], 'completed', 'the late ringing report did not replace the final state');
    const c5 = probe.events('attributedCalls').filter((x) => (x.payload as calltrack.events.v1.CallAttributed).call?.callId === 'c5');
    assert.deepEqual(new Set(c5.map((x) => x.eventId)), new Set([`${dup.eventId}:attributed`]), 'duplicates share one event id; the stale report published nothing');
    const list = await http('GET', `${service.url}/v1/sites/${SITE}/calls?limit=1000`, { headers: auth });
    assert.equal(list.body.calls.filter((c: { call_id: string }) => c.call_id === 'c5').length, 1);
  });

  it('dead-letters an undecodable record and goes on', async () => {
    await produceRaw(env, 'screenedCalls', [{ key: `${SITE}:junk`, value: Buffer.from('garbage') }]);
    await send('screenedCalls', callKey(SITE, 'c7'), screened('c7', '+74951000001'));
    await stored('c7');
    const dead = await waitFor(() => probe.deadLetters('screenedCalls').find((r) => r.key === `${SITE}:junk`), { what: 'dead letter' });
    assert.equal(dead.headers['dlq_reason'], 'undecodable');
  });

  it('reports by channel and validates its parameters', async () => {
    const report = await http('GET', `${service.url}/v1/sites/${SITE}/report/channels`, { headers: auth });
    assert.equal(report.status, 200);
    const google = report.body.rows.find((r: { utm_source: string }) => r.utm_source === 'google');
    assert.equal(Number(google.visits), 1);
    assert.ok(Number(google.calls) >= 3);
    const bad = await http('GET', `${service.url}/v1/sites/${SITE}/calls?from=yesterday`, { headers: auth });
    assert.equal(bad.status, 400);
    assert.match(bad.body.error.message, /from/);
    const limit = await http('GET', `${service.url}/v1/sites/${SITE}/calls?limit=5000`, { headers: auth });
    assert.equal(limit.status, 400);
    assert.match(limit.body.error.message, /limit/);
    const missing = await http('GET', `${service.url}/v1/sites/${SITE}/calls/nope`, { headers: auth });
    assert.equal(missing.status, 404);
    assert.equal((await http('GET', `${service.url}/v1/sites/${SITE}/calls`)).status, 401);
  });
});
