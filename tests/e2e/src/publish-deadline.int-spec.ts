// Publishing has a deadline: while the broker does not answer (a TCP proxy in front
// of the shared broker, switched to black-hole), a session start and a webhook get
// 503 with Retry-After within the deadline instead of hanging, and after the outage
// they succeed again; the provider's resend of the same webhook carries the same event id.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createEvent, encodeEvent, siteKey } from '@calltrack/contracts';
import {
  createKafkaTestEnv,
  freePort,
  http,
  KafkaOutageProxy,
  produceRaw,
  ServiceProcess,
  signGenericWebhook,
  TopicProbe,
  waitFor,
  type KafkaTestEnv,
} from '@calltrack/testing';

const ADMIN = 'deadline-admin-token-0123456789';
const auth = { authorization: `Bearer ${ADMIN}` };
const SITE = 'deadline-shop';
const WEBHOOK_SECRET = 'whsec-deadline-0123456789abcdef0123456789';
const PUBLISH_TIMEOUT_MS = 1500;
const BROWSER = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36';

describe('publish deadline: 503 with Retry-After while the broker does not answer, never a hang', () => {
  let env: KafkaTestEnv;
  let proxy: KafkaOutageProxy;
  let probe: TopicProbe;
  const procs: Record<string, ServiceProcess> = {};

  before(async () => {
    env = await createKafkaTestEnv('publish-deadline');
    proxy = await KafkaOutageProxy.start(env.brokers);
    probe = await TopicProbe.start(env, ['calls']);
    await produceRaw(env, 'sites', [
      {
        key: siteKey(SITE),
        value: encodeEvent(
          createEvent(
            'SiteConfigured',
            { name: SITE, country: 'RU', timeZone: 'Europe/Moscow', defaultNumber: '+74958000000', poolNumbers: ['+74958000001'] },
            { siteId: SITE, producer: 'test' },
          ),
        ),
      },
    ]);
    // Both services reach the broker only through the proxy.
    const common = {
      ...env.env,
      KAFKA_BROKERS: proxy.brokers,
      ADMIN_TOKEN: ADMIN,
      KAFKA_PUBLISH_TIMEOUT_MS: String(PUBLISH_TIMEOUT_MS),
      KAFKA_SESSION_TIMEOUT_MS: '6000',
    };
    procs['session-tracker'] = new ServiceProcess('session-tracker', await freePort(), { ...common, LEASE_REPLY_TIMEOUT_MS: '500' });
    procs['telephony-ingest'] = new ServiceProcess('telephony-ingest', await freePort(), common);
    await Promise.all(Object.values(procs).map((p) => p.start()));
    await waitFor(
      async () =>
        (await http('PUT', `${procs['telephony-ingest']!.url}/v1/admin/sites/${SITE}/webhook-secret`, { headers: auth, body: { secret: WEBHOOK_SECRET } }))
          .status === 200,
      {
        what: 'telephony-ingest to know the site',
      },
    );
    // The admin call answers once the secret is on the topic; on a busy machine its own copy may not be applied yet
    // (`applied: false`), and a webhook would then be refused as for an unknown site.
    await waitFor(
      async () =>
        (await http('GET', `${procs['telephony-ingest']!.url}/v1/admin/sites/${SITE}/webhook-stats`, { headers: auth })).body?.secretConfigured === true,
      {
        what: 'telephony-ingest to apply the webhook secret',
      },
    );
  });

  after(async () => {
    await proxy?.close();
    await Promise.all(Object.values(procs).map((p) => p.stop()));
    await probe?.stop();
  });

  const startSession = () =>
    http('POST', `${procs['session-tracker']!.url}/v1/sessions`, {
      body: { siteId: SITE, landingPage: 'https://shop.example/?utm_source=google', userAgent: BROWSER },
    });
  const callBody = JSON.stringify({
    callId: 'deadline-call-1',
    trackingNumber: '+74958000001',
    callerNumber: '+79160000001',
    status: 'completed',
    startedAt: new Date(Date.now() - 60_000).toISOString(),
    endedAt: new Date().toISOString(),
  });
  const webhook = () =>
    http('POST', `${procs['telephony-ingest']!.url}/v1/webhooks/generic/${SITE}`, { rawBody: callBody, headers: signGenericWebhook(WEBHOOK_SECRET, callBody) });

  /** The request's answer and how long it took. */
  const timed = async <T>(fn: () => Promise<T>): Promise<{ r: T; ms: number }> => {
    const started = Date.now();
    const r = await fn();
    return { r, ms: Date.now() - started };
  };

  it('answers 503 with Retry-After within the deadline during the outage, and works again after it', async () => {
    await waitFor(async () => (await startSession()).status === 201, { what: 'session-tracker to know the site' });

    proxy.blackHole();
    const session = await timed(startSession);
    assert.equal(session.r.status, 503, JSON.stringify(session.r.body));
    assert.equal(session.r.body.error.code, 'unavailable');
    assert.ok(Number(session.r.headers.get('retry-after')) > 0, 'Retry-After on the session start');
    const call = await timed(webhook);
    assert.equal(call.r.status, 503, JSON.stringify(call.r.body));
    assert.equal(call.r.body.error.code, 'unavailable');
    assert.ok(Number(call.r.headers.get('retry-after')) > 0, 'Retry-After on the webhook');
    // The deadline plus slack for a busy machine; without a deadline these hung for 15-30 s and more.
    for (const [what, ms] of [
      ['session start', session.ms],
      ['webhook', call.ms],
    ] as const) {
      assert.ok(ms < PUBLISH_TIMEOUT_MS + 4000, `${what} answered in ${ms} ms (deadline ${PUBLISH_TIMEOUT_MS} ms)`);
    }

    proxy.restore();
    const recovered = await waitFor(
      async () => {
        const r = await startSession();
        return r.status === 201 ? r : undefined;
      },
      { what: 'session starts to succeed again', timeoutMs: 60_000 },
    );
    assert.ok(recovered.body.number);
    // The provider resends the refused webhook: accepted now, and every copy on the topic carries one event id.
    const resent = await waitFor(
      async () => {
        const r = await webhook();
        return r.status === 202 ? r : undefined;
      },
      { what: 'the resent webhook accepted', timeoutMs: 60_000 },
    );
    const stored = await waitFor(
      () => {
        const copies = probe.events('calls').filter((e) => e.type === 'CallReported' && e.payload.callId === resent.body.callId);
        return copies.length > 0 ? copies : undefined;
      },
      { what: 'the call on the topic' },
    );
    assert.deepEqual([...new Set(stored.map((e) => e.eventId))], [resent.body.eventId], 'one event id for the call, however many copies landed');
  });
});
