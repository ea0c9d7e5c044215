import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { calltrack, callKey, createEvent, siteKey, visitorKey, type AnyDomainEvent } from '@calltrack/contracts';
import { KafkaBus } from '@calltrack/kafka';
import type { RunningService } from '@calltrack/service-kit';
import { createKafkaTestEnv, http, produceRaw, testLogger, TopicProbe, waitFor, type KafkaTestEnv } from '@calltrack/testing';
import { startAntifraud } from './antifraud.app.js';
import { loadAntifraudConfig } from './config.js';

const { Verdict, CallStatus } = calltrack.events.v1;
type CallScreened = calltrack.events.v1.CallScreened;
type SessionScreened = calltrack.events.v1.SessionScreened;
const ADMIN = 'antifraud-admin-token-0123456789';
const auth = { authorization: `Bearer ${ADMIN}` };
const SPAMMER = '+79161112233';

describe('antifraud on the real broker', () => {
  let env: KafkaTestEnv;
  let bus: KafkaBus;
  let probe: TopicProbe;
  let service: RunningService;
  let callSeq = 0;
  const config = () => loadAntifraudConfig({ ...env.env, ADMIN_TOKEN: ADMIN, PORT: '0', HTTP_HOST: '127.0.0.1', LOG_LEVEL: 'silent' });
  const url = (path: string) => `${service.url}${path}`;
  const blocklistUrl = (siteId: string, phone: string) => url(`/v1/admin/sites/${siteId}/blocklist/${encodeURIComponent(phone)}`);

  /** Publishes a CallReported onto `calls` and returns it. */
  async function reportCall(siteId: string, callerNumber: string): Promise<AnyDomainEvent & { type: 'CallReported' }> {
    const callId = `c${++callSeq}`;
    const event = createEvent(
      'CallReported',
      {
        callId,
        provider: 'generic',
        providerCallId: callId,
        trackingNumber: '+74951000001',
        callerNumber,
        status: CallStatus.CALL_STATUS_COMPLETED,
        startedAtMs: Date.now(),
        sequence: 3,
      },
      { siteId, producer: 'test' },
    );
    await bus.producer.publish('calls', callKey(siteId, callId), event);
    return event;
  }
  const screened = async (eventId: string) => {
    const e = await waitFor(() => probe.events('screenedCalls').find((x) => x.eventId === `${eventId}:screened`), { what: `screening of ${eventId}` });
    return { event: e, payload: e.payload as CallScreened };
  };
  const verdictOf = async (siteId: string, callerNumber: string) => (await screened((await reportCall(siteId, callerNumber)).eventId)).payload;

  before(async () => {
    env = await createKafkaTestEnv('antifraud');
    bus = new KafkaBus({ ...env.settings, clientId: 'antifraud-test' }, testLogger);
    await bus.connect();
    for (const site of ['site-a', 'site-b']) {
      await bus.producer.publish(
        'sites',
        siteKey(site),
        createEvent(
          'SiteConfigured',
          { name: site, country: 'RU', timeZone: 'Europe/Moscow', defaultNumber: '+74950000000', poolNumbers: ['+74951000001'] },
          { siteId: site, producer: 'test' },
        ),
      );
    }
    probe = await TopicProbe.start(env, ['screenedCalls', 'antifraudVerdicts', { dlq: 'calls' }]);
    service = await startAntifraud(config());
  });

  after(async () => {
    await service?.close();
    await probe?.stop();
    await bus?.close();
  });

  it('is ready once sites and the blocklist are rebuilt', async () => {
    // The state is rebuilt before the HTTP server listens; the consumer groups join afterwards.
    const first = await http('GET', url('/readyz'));
    assert.equal(first.body.checks.blocklist_rebuilt, true);
    assert.equal(first.body.checks.sites_loaded, true);
    await waitFor(async () => (await http('GET', url('/readyz'))).status === 200, { what: 'readiness' });
  });

  it("marks a blocked caller's calls spam on that site only and passes every other call", async () => {
    // Written as a person would, normalised with the site's country.
    const put = await http('PUT', blocklistUrl('site-a', '8 916 111-22-33'), { headers: auth, body: { reason: 'robocalls' } });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    assert.equal(put.body.phone, SPAMMER);
    assert.equal(put.body.reason, 'robocalls');

    // Published right after the 200: the block is already in force.
    const spam = await reportCall('site-a', SPAMMER);
    const clean = await reportCall('site-a', '+79169998877');
    const otherSite = await reportCall('site-b', SPAMMER);
    const withheld = await reportCall('site-a', '');

    const s1 = await screened(spam.eventId);
    assert.equal(s1.payload.verdict, Verdict.VERDICT_SPAM);
    assert.equal(s1.payload.reason, 'blocklisted: robocalls');
    assert.equal(s1.payload.call?.callId, spam.payload.callId);
    assert.equal(s1.payload.call?.callerNumber, SPAMMER);
    assert.equal(s1.event.causationId, spam.eventId);
    assert.equal(s1.event.occurredAtMs, spam.occurredAtMs);
    assert.equal(s1.event.siteId, 'site-a');
    const raw = probe.records.find((r) => r.headers['event_id'] === s1.event.eventId);
    assert.equal(raw?.key, callKey('site-a', spam.payload.callId));

    assert.deepEqual([(await screened(clean.eventId)).payload.verdict, (await screened(clean.eventId)).payload.reason], [Verdict.VERDICT_CLEAN, '']);
    assert.equal((await screened(otherSite.eventId)).payload.verdict, Verdict.VERDICT_CLEAN, 'wrong tenant: site-b does not block it');
    assert.equal((await screened(withheld.eventId)).payload.verdict, Verdict.VERDICT_CLEAN);

    const list = await http('GET', url('/v1/admin/sites/site-a/blocklist'), { headers: auth });
    assert.equal(list.status, 200);
    assert.deepEqual(
      list.body.entries.map((e: { phone: string; reason: string }) => [e.phone, e.reason]),
      [[SPAMMER, 'robocalls']],
    );
    assert.deepEqual((await http('GET', url('/v1/admin/sites/site-b/blocklist'), { headers: auth })).body.entries, []);
  });

  it('screens a duplicated call report again under the same event id', async () => {
    const first = await reportCall('site-a', SPAMMER);
    await screened(first.eventId);
    // The same event redelivered (same event id): downstream dedupes by the deterministic id.
    await bus.producer.publish('calls', callKey('site-a', first.payload.callId), first);
    const both = await waitFor(
      () => {
        const found = probe.events('screenedCalls').filter((e) => e.eventId === `${first.eventId}:screened`);
        return found.length === 2 ? found : undefined;
      },
      { what: 'the duplicate screening' },
    );
    assert.deepEqual(
      both.map((e) => (e.payload as CallScreened).verdict),
      [Verdict.VERDICT_SPAM, Verdict.VERDICT_SPAM],
    );
  });

  it('unblocks, re-blocks with a new reason, and keeps the blocklist across a restart', async () => {
    const del = await http('DELETE', blocklistUrl('site-a', SPAMMER), { headers: auth });
    assert.equal(del.status, 200, JSON.stringify(del.body));
    assert.equal((await verdictOf('site-a', SPAMMER)).verdict, Verdict.VERDICT_CLEAN);
    assert.equal((await http('PUT', blocklistUrl('site-a', SPAMMER), { headers: auth, body: { reason: 'robocalls again' } })).status, 200);
    assert.equal((await verdictOf('site-a', SPAMMER)).reason, 'blocklisted: robocalls again');
    // History that must not come back after the restart: blocked, then unblocked.
    const formerSpammer = '+79165554433';
    assert.equal((await http('PUT', blocklistUrl('site-a', formerSpammer), { headers: auth, body: { reason: 'mistake' } })).status, 200);
    assert.equal((await http('DELETE', blocklistUrl('site-a', formerSpammer), { headers: auth })).status, 200);

    await service.close();
    service = await startAntifraud(config());

    // Right after start the per-instance consumer re-reads the whole topic; the rebuilt state must hold throughout.
    const former = await reportCall('site-a', formerSpammer);
    const still = await reportCall('site-a', SPAMMER);
    const list = await http('GET', url('/v1/admin/sites/site-a/blocklist'), { headers: auth });
    assert.deepEqual(
      list.body.entries.map((e: { phone: string; reason: string }) => [e.phone, e.reason]),
      [[SPAMMER, 'robocalls again']],
    );
    assert.equal((await screened(still.eventId)).payload.verdict, Verdict.VERDICT_SPAM, 'the blocklist was rebuilt from Kafka');
    assert.equal((await screened(former.eventId)).payload.verdict, Verdict.VERDICT_CLEAN, 'an unblocked caller stays unblocked');
  });

  it('dead-letters an undecodable call record and goes on screening', async () => {
    await produceRaw(env, 'calls', [{ key: 'site-a:junk', value: Buffer.from([0xff, 0x00, 0x13, 0x37]) }]);
    const next = await reportCall('site-a', '+79160000001');
    assert.equal((await screened(next.eventId)).payload.verdict, Verdict.VERDICT_CLEAN);
    const dead = await waitFor(() => probe.deadLetters('calls').find((r) => r.key === 'site-a:junk'), { what: 'the dead letter' });
    assert.equal(dead.headers['dlq_reason'], 'undecodable');
    assert.deepEqual(dead.value, Buffer.from([0xff, 0x00, 0x13, 0x37]), 'the original bytes are kept');
  });

  it('flags bot sessions (known crawlers and empty user agents)', async () => {
    const agents = {
      bot: 'Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)',
      anonymous: '',
      human: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36',
    };
    const started = new Map<string, AnyDomainEvent>();
    for (const [visitorId, userAgent] of Object.entries(agents)) {
      const event = createEvent(
        'SessionStarted',
        { sessionId: `s-${visitorId}`, visitorId, startedAtMs: Date.now(), userAgent, origin: { landingPage: 'https://a.example/' } },
        { siteId: 'site-a', producer: 'test' },
      );
      started.set(visitorId, event);
      await bus.producer.publish('sessions', visitorKey('site-a', visitorId), event);
    }
    const verdict = async (visitorId: string) => {
      const id = `${started.get(visitorId)!.eventId}:screened`;
      const e = await waitFor(() => probe.events('antifraudVerdicts').find((x) => x.eventId === id), { what: `verdict for ${visitorId}` });
      assert.equal(probe.records.find((r) => r.headers['event_id'] === id)?.key, visitorKey('site-a', visitorId));
      return e.payload as SessionScreened;
    };
    const bot = await verdict('bot');
    assert.deepEqual([bot.verdict, bot.sessionId, bot.visitorId], [Verdict.VERDICT_BOT, 's-bot', 'bot']);
    assert.equal((await verdict('anonymous')).verdict, Verdict.VERDICT_BOT);
    assert.deepEqual([(await verdict('human')).verdict, (await verdict('human')).reason], [Verdict.VERDICT_CLEAN, '']);
  });

  it('counts screened calls, spam, sessions and bots per site', async () => {
    const stats = async (siteId: string) => (await http('GET', url(`/v1/admin/sites/${siteId}/stats`), { headers: auth })).body;
    const before = await stats('site-a');
    const beforeB = await stats('site-b');
    await verdictOf('site-a', SPAMMER);
    await verdictOf('site-a', '+79160000002');
    const session = createEvent(
      'SessionStarted',
      {
        sessionId: 's-stats',
        visitorId: 'v-stats',
        startedAtMs: Date.now(),
        userAgent: 'Googlebot/2.1 (+http://www.google.com/bot.html)',
        origin: { landingPage: 'https://a.example/' },
      },
      { siteId: 'site-a', producer: 'test' },
    );
    await bus.producer.publish('sessions', visitorKey('site-a', 'v-stats'), session);
    await waitFor(() => probe.events('antifraudVerdicts').find((e) => e.eventId === `${session.eventId}:screened`), { what: 'the session verdict' });
    const now = await stats('site-a');
    assert.deepEqual(
      [
        now.callsScreened - before.callsScreened,
        now.spamCalls - before.spamCalls,
        now.sessionsScreened - before.sessionsScreened,
        now.botSessions - before.botSessions,
      ],
      [2, 1, 1, 1],
    );
    assert.deepEqual(await stats('site-b'), beforeB, 'other sites are counted apart');
  });

  it('answers bad admin input with JSON errors', async () => {
    const valid = blocklistUrl('site-a', '+79160000009');
    const noAuth = await http('PUT', valid, { body: {} });
    assert.equal(noAuth.status, 401);
    assert.equal(typeof noAuth.body.error.code, 'string');
    const wrongToken = await http('GET', url('/v1/admin/sites/site-a/blocklist'), { headers: { authorization: 'Bearer wrong-token-wrong-token' } });
    assert.deepEqual([wrongToken.status, wrongToken.body.error.code], [403, 'forbidden']);
    assert.equal((await http('GET', url('/v1/admin/sites/site-a/stats'))).status, 401);

    const invalid = await http('PUT', blocklistUrl('site-a', '123'), { headers: auth, body: {} });
    assert.equal(invalid.status, 400);
    assert.equal(invalid.body.error.code, 'invalid_request');
    assert.match(invalid.body.error.message, /phone/);

    const unknown = await http('PUT', blocklistUrl('nowhere', SPAMMER), { headers: auth, body: {} });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error.code, 'unknown_site');
    for (const [method, path] of [
      ['DELETE', `/v1/admin/sites/nowhere/blocklist/${encodeURIComponent(SPAMMER)}`],
      ['GET', '/v1/admin/sites/nowhere/blocklist'],
      ['GET', '/v1/admin/sites/nowhere/stats'],
    ] as const) {
      const r = await http(method, url(path), { headers: auth });
      assert.deepEqual([r.status, r.body.error.code], [404, 'unknown_site'], `${method} ${path}`);
    }

    const badSiteId = await http('GET', url('/v1/admin/sites/Site%20A/blocklist'), { headers: auth });
    assert.equal(badSiteId.status, 400);
    assert.match(badSiteId.body.error.message, /site id/);

    const extra = await http('PUT', valid, { headers: auth, body: { reason: 'x', admin: true } });
    assert.equal(extra.status, 400);
    assert.match(extra.body.error.message, /admin/);
    const long = await http('PUT', valid, { headers: auth, body: { reason: 'x'.repeat(501) } });
    assert.equal(long.status, 400);
    assert.match(long.body.error.message, /reason/);
    const notString = await http('PUT', valid, { headers: auth, body: { reason: 42 } });
    assert.equal(notString.status, 400);
    assert.match(notString.body.error.message, /reason/);
    const badJson = await http('PUT', valid, { headers: { ...auth, 'content-type': 'application/json' }, rawBody: '{"reason":' });
    assert.equal(badJson.status, 400);
    assert.equal(badJson.body.error.code, 'invalid_json');

    const notBlocked = await http('DELETE', valid, { headers: auth });
    assert.equal(notBlocked.status, 404);
    assert.equal(notBlocked.body.error.code, 'not_blocked');
    // None of the refused requests blocked anything.
    const list = await http('GET', url('/v1/admin/sites/site-a/blocklist'), { headers: auth });
    assert.deepEqual(
      list.body.entries.map((e: { phone: string }) => e.phone),
      [SPAMMER],
    );

    // The reason is optional: no body at all blocks with an empty reason.
    const bare = await http('PUT', valid, { headers: auth });
    assert.equal(bare.status, 200, JSON.stringify(bare.body));
    assert.equal(bare.body.reason, '');
    assert.equal((await verdictOf('site-a', '+79160000009')).verdict, Verdict.VERDICT_SPAM);
  });
});
