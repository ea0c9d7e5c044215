import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { calltrack, callKey, createEvent, siteKey, visitorKey } from '@calltrack/contracts';
import { KafkaBus } from '@calltrack/kafka';
import type { RunningService } from '@calltrack/service-kit';
import { createKafkaTestEnv, http, produceRaw, testLogger, TopicProbe, waitFor, type KafkaTestEnv } from '@calltrack/testing';
import { startAntifraud } from './antifraud.app.js';
import { loadAntifraudConfig } from './config.js';

const { Verdict, CallStatus } = calltrack.events.v1;
const ADMIN = 'antifraud-admin-token-0123456789';
const auth = { authorization: `Bearer ${ADMIN}` };

describe('antifraud on the real broker', () => {
  let env: KafkaTestEnv;
  let bus: KafkaBus;
  let probe: TopicProbe;
  let service: RunningService;
  const config = () => loadAntifraudConfig({ ...env.env, ADMIN_TOKEN: ADMIN, PORT: '0', HTTP_HOST: '127.0.0.1', LOG_LEVEL: 'warn' });
  const call = (siteId: string, callId: string, caller: string) =>
    createEvent('CallReported', { callId, provider: 'generic', providerCallId: callId, trackingNumber: '+74951000001', callerNumber: caller, status: CallStatus.CALL_STATUS_COMPLETED, startedAtMs: Date.now(), sequence: 3 }, { siteId, producer: 'test' });
  const screened = (eventId: string) => waitFor(() => probe.events('screenedCalls').find((e) => e.eventId === `${eventId}:screened`), { what: `screening of ${eventId}` });

  before(async () => {
    env = await createKafkaTestEnv('antifraud');
    bus = new KafkaBus({ ...env.settings, clientId: 'antifraud-test' }, testLogger);
    await bus.connect();
    for (const site of ['site-a', 'site-b']) {
      await bus.producer.publish('sites', siteKey(site), createEvent('SiteConfigured', { name: site, country: 'RU', timeZone: 'Europe/Moscow', defaultNumber: '+74950000000', poolNumbers: ['+74951000001'] }, { siteId: site, producer: 'test' }));
    }
    probe = await TopicProbe.start(env, ['screenedCalls', 'antifraudVerdicts', { dlq: 'calls' }]);
    service = await startAntifraud(config());
  });

  after(async () => {
    await service.close();
    await probe.stop();
    await bus.close();
  });

  it('marks a blocked caller\'s calls spam on that site only, passes the others, and survives a restart', async () => {
    const put = await waitFor(async () => {
      const r = await http('PUT', `${service.url}/v1/admin/sites/site-a/blocklist/${encodeURIComponent('8 916 111-22-33')}`, { headers: auth, body: { reason: 'robocalls' } });
      return r.status === 200 ? r : undefined;
    }, { what: 'the site to be known' });
    assert.equal(put.body.phone, '+79161112233');

    const spam = call('site-a', 'c1', '+79161112233');
    const clean = call('site-a', 'c2', '+79169998877');
    const otherSite = call('site-b', 'c3', '+79161112233');
    for (const e of [spam, clean, otherSite]) await bus.producer.publish('calls', callKey(e.siteId, e.payload.callId), e);
    const s1 = (await screened(spam.eventId)).payload as calltrack.events.v1.CallScreened;
    assert.equal(s1.verdict, Verdict.VERDICT_SPAM);
    assert.equal(s1.reason, 'blocklisted: robocalls');
    assert.equal(s1.call?.callId, 'c1');
    assert.equal(((await screened(clean.eventId)).payload as calltrack.events.v1.CallScreened).verdict, Verdict.VERDICT_CLEAN);
    assert.equal(((await screened(otherSite.eventId)).payload as calltrack.events.v1.CallScreened).verdict, Verdict.VERDICT_CLEAN, 'wrong tenant: site-b does not block it');

    // A redelivered report is screened under the same event id, so consumers downstream dedupe it.
    await bus.producer.publish('calls', callKey('site-a', 'c1'), spam);
    await waitFor(() => probe.events('screenedCalls').filter((e) => e.eventId === `${spam.eventId}:screened`).length === 2, { what: 'the duplicate' });

    await service.close();
    service = await startAntifraud(config());
    const list = await http('GET', `${service.url}/v1/admin/sites/site-a/blocklist`, { headers: auth });
    assert.deepEqual(list.body.entries.map((e: { phone: string }) => e.phone), ['+79161112233']);
    const after = call('site-a', 'c4', '+79161112233');
    await bus.producer.publish('calls', callKey('site-a', 'c4'), after);
    assert.equal(((await screened(after.eventId)).payload as calltrack.events.v1.CallScreened).verdict, Verdict.VERDICT_SPAM, 'the blocklist was rebuilt from Kafka');

    const del = await http('DELETE', `${service.url}/v1/admin/sites/site-a/blocklist/%2B79161112233`, { headers: auth });
    assert.equal(del.status, 200);
    const again = call('site-a', 'c5', '+79161112233');
    await bus.producer.publish('calls', callKey('site-a', 'c5'), again);
    assert.equal(((await screened(again.eventId)).payload as calltrack.events.v1.CallScreened).verdict, Verdict.VERDICT_CLEAN);
  });

  it('dead-letters an undecodable call record and goes on screening', async () => {
    await produceRaw(env, 'calls', [{ key: 'site-a:junk', value: Buffer.from([0xff, 0x00, 0x13, 0x37]) }]);
    const next = call('site-a', 'c6', '+79160000001');
    await bus.producer.publish('calls', callKey('site-a', 'c6'), next);
    await screened(next.eventId);
    const dead = await waitFor(() => probe.deadLetters('calls').find((r) => r.key === 'site-a:junk'), { what: 'the dead letter' });
    assert.equal(dead.headers['dlq_reason'], 'undecodable');
  });

  it('flags bot sessions', async () => {
    const ua = { bot: 'Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)', human: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36' };
    for (const [visitorId, userAgent] of Object.entries(ua)) {
      await bus.producer.publish('sessions', visitorKey('site-a', visitorId), createEvent('SessionStarted', { sessionId: `s-${visitorId}`, visitorId, startedAtMs: Date.now(), userAgent, landingPage: 'https://a.example/' }, { siteId: 'site-a', producer: 'test' }));
    }
    const verdictOf = (visitorId: string) =>
      waitFor(() => probe.events('antifraudVerdicts').find((e) => (e.payload as calltrack.events.v1.SessionScreened).visitorId === visitorId), { what: `verdict for ${visitorId}` });
    assert.equal(((await verdictOf('bot')).payload as calltrack.events.v1.SessionScreened).verdict, Verdict.VERDICT_BOT);
    assert.equal(((await verdictOf('human')).payload as calltrack.events.v1.SessionScreened).verdict, Verdict.VERDICT_CLEAN);
  });

  it('answers bad admin input with JSON errors', async () => {
    assert.equal((await http('PUT', `${service.url}/v1/admin/sites/site-a/blocklist/123`, { body: {} })).status, 401);
    const invalid = await http('PUT', `${service.url}/v1/admin/sites/site-a/blocklist/123`, { headers: auth, body: {} });
    assert.equal(invalid.status, 400);
    assert.match(invalid.body.error.message, /phone/);
    const unknown = await http('PUT', `${service.url}/v1/admin/sites/nowhere/blocklist/%2B79161112233`, { headers: auth, body: {} });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error.code, 'unknown_site');
    const extra = await http('PUT', `${service.url}/v1/admin/sites/site-a/blocklist/%2B79161112233`, { headers: auth, body: { reason: 'x', admin: true } });
    assert.equal(extra.status, 400);
    assert.match(extra.body.error.message, /admin/);
    const notBlocked = await http('DELETE', `${service.url}/v1/admin/sites/site-a/blocklist/%2B79160000009`, { headers: auth });
    assert.equal(notBlocked.status, 404);
  });
});
