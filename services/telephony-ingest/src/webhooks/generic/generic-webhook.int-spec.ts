import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { callKey, calltrack, createEvent, encodeEvent, siteKey, type DomainEvent } from '@calltrack/contracts';
import type { RunningService } from '@calltrack/service-kit';
import { createKafkaTestEnv, http, produceRaw, TopicProbe, waitFor, type KafkaTestEnv } from '@calltrack/testing';
import { loadTelephonyIngestConfig, type TelephonyIngestConfig } from '../../config.js';
import { startTelephonyIngest } from '../../telephony-ingest.app.js';
import { signWebhook } from '../shared/webhook-signature.js';

const ADMIN_TOKEN = 'test-admin-token-0123456789';
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
const SECRET_A = 'whsec_site_a_0123456789abcdefghijklmnop';
const SECRET_A2 = 'whsec_site_a_rotated_0123456789abcdefghij';
const SECRET_B = 'whsec_site_b_0123456789abcdefghijklmnop';
const SITE_A = 'site-a'; // RU, configured before the service starts (replay)
const SITE_B = 'site-b'; // US, configured before the service starts
const SITE_C = 'site-c'; // RU, configured while the service runs (consumer)

const siteConfigured = (siteId: string, country: string) =>
  createEvent(
    'SiteConfigured',
    { name: siteId, country, timeZone: 'UTC', defaultNumber: country === 'RU' ? '+74951234500' : '+14155550100' },
    { siteId, producer: 'test' },
  );

const nowSeconds = () => Math.floor(Date.now() / 1000);
// Recent, whole seconds: every adapter refuses times outside EVENT_TIME_MAX_AGE_DAYS / EVENT_TIME_MAX_FUTURE_SECONDS.
const T0 = (nowSeconds() - 600) * 1000;
const at = (offsetMs: number) => new Date(T0 + offsetMs).toISOString();

function call(over: Record<string, unknown> = {}) {
  return {
    callId: `call-${Math.random().toString(36).slice(2, 10)}`,
    trackingNumber: '8 (495) 123-45-67',
    callerNumber: '8 916 123 45 67',
    status: 'completed',
    startedAt: at(0),
    answeredAt: at(4000),
    endedAt: at(180_000),
    ...over,
  };
}

describe('telephony-ingest (integration)', () => {
  let env: KafkaTestEnv;
  let probe: TopicProbe;
  let svc: RunningService;
  let config: TelephonyIngestConfig;
  const rejectedCallIds: string[] = [];

  const post = (siteId: string, raw: string | Buffer, headers: Record<string, string>) =>
    http('POST', `${svc.url}/v1/webhooks/generic/${siteId}`, { rawBody: raw, headers: { 'content-type': 'application/json', ...headers } });

  /** Posts a body signed with `secret` (timestamp now unless given). */
  const send = (siteId: string, secret: string, body: unknown, ts: number = nowSeconds()) => {
    const raw = typeof body === 'string' ? body : JSON.stringify(body);
    return post(siteId, raw, { 'x-calltrack-timestamp': String(ts), 'x-calltrack-signature': signWebhook(secret, ts, raw) });
  };

  const callEvents = () => probe.events('calls') as Array<DomainEvent<'CallReported'>>;

  before(async () => {
    env = await createKafkaTestEnv('telephony-ingest');
    probe = await TopicProbe.start(env, ['calls', 'telephonySecrets']);
    await produceRaw(env, 'sites', [
      { key: siteKey(SITE_A), value: encodeEvent(siteConfigured(SITE_A, 'RU')) },
      { key: siteKey(SITE_B), value: encodeEvent(siteConfigured(SITE_B, 'US')) },
    ]);
    // PORT 0 (a free port) is not a valid configured port, so it is set after validation.
    config = {
      ...loadTelephonyIngestConfig({ ...env.env, HTTP_HOST: '127.0.0.1', ADMIN_TOKEN, LOG_LEVEL: process.env['TEST_LOG_LEVEL'] ?? 'silent' }),
      PORT: 0,
    };
    svc = await startTelephonyIngest(config);
    await waitFor(async () => (await http('GET', `${svc.url}/readyz`)).status === 200, { what: 'telephony-ingest ready' });
  });

  after(async () => {
    await svc?.close();
    await probe?.stop();
  });

  describe('admin API', () => {
    it('requires the admin token', async () => {
      const none = await http('PUT', `${svc.url}/v1/admin/sites/${SITE_A}/webhook-secret`, { body: { secret: SECRET_A } });
      assert.equal(none.status, 401);
      const wrong = await http('PUT', `${svc.url}/v1/admin/sites/${SITE_A}/webhook-secret`, {
        body: { secret: SECRET_A },
        headers: { authorization: 'Bearer nope-nope-nope-nope' },
      });
      assert.equal(wrong.status, 403);
      assert.equal((await http('GET', `${svc.url}/v1/admin/sites/${SITE_A}/webhook-stats`)).status, 401);
    });

    it('refuses an unknown site and a bad secret without echoing it', async () => {
      const unknown = await http('PUT', `${svc.url}/v1/admin/sites/nosuch/webhook-secret`, { body: { secret: SECRET_A }, headers: admin });
      assert.equal(unknown.status, 404);
      assert.equal(unknown.body.error.code, 'unknown_site');
      const short = await http('PUT', `${svc.url}/v1/admin/sites/${SITE_A}/webhook-secret`, { body: { secret: 'too-short-secret' }, headers: admin });
      assert.equal(short.status, 400);
      assert.match(short.body.error.message, /secret/);
      assert.doesNotMatch(JSON.stringify(short.body), /too-short-secret/);
      const extra = await http('PUT', `${svc.url}/v1/admin/sites/${SITE_A}/webhook-secret`, { body: { secret: SECRET_A, note: 1 }, headers: admin });
      assert.equal(extra.status, 400);
      assert.doesNotMatch(JSON.stringify(extra.body), new RegExp(SECRET_A));
    });

    it('sets a secret: 200 without the secret, WebhookSecretSet on telephony-secrets', async () => {
      for (const [site, secret] of [
        [SITE_A, SECRET_A],
        [SITE_B, SECRET_B],
      ] as const) {
        const res = await http('PUT', `${svc.url}/v1/admin/sites/${site}/webhook-secret`, { body: { secret }, headers: admin });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.equal(res.body.secretSet, true);
        assert.equal(res.body.applied, true);
        assert.doesNotMatch(JSON.stringify(res.body), new RegExp(secret));
      }
      const records = await waitFor(
        () => {
          const r = probe.records.filter((x) => x.topic === env.topic('telephonySecrets'));
          return r.length >= 2 && r;
        },
        { what: 'WebhookSecretSet records' },
      );
      assert.deepEqual(records.map((r) => r.key).sort(), [siteKey(SITE_A), siteKey(SITE_B)]);
      const ev = probe.events('telephonySecrets').find((e) => e.siteId === SITE_A) as DomainEvent<'WebhookSecretSet'>;
      assert.equal(ev.type, 'WebhookSecretSet');
      assert.equal(ev.payload.secret, SECRET_A);
    });

    it('learns sites configured while running', async () => {
      await produceRaw(env, 'sites', [{ key: siteKey(SITE_C), value: encodeEvent(siteConfigured(SITE_C, 'RU')) }]);
      const res = await waitFor(
        async () => {
          const r = await http('PUT', `${svc.url}/v1/admin/sites/${SITE_C}/webhook-secret`, { body: { secret: SECRET_A }, headers: admin });
          return r.status !== 404 && r;
        },
        { what: 'site-c known' },
      );
      assert.equal(res.status, 200);
      assert.equal((await send(SITE_C, SECRET_A, call())).status, 202);
    });
  });

  describe('generic webhook', () => {
    it('accepts a signed report: 202, CallReported on calls with E.164 numbers', async () => {
      const body = call({ callId: 'ok-1', recordingUrl: 'https://rec.example.com/ok-1.mp3' });
      const res = await send(SITE_A, SECRET_A, body);
      assert.equal(res.status, 202, JSON.stringify(res.body));
      assert.equal(res.body.callId, 'generic:ok-1');
      assert.match(res.body.eventId, /^[0-9a-f-]{36}$/);
      const ev = await waitFor(() => callEvents().find((e) => e.eventId === res.body.eventId), { what: 'CallReported' });
      const rec = probe.records.find((r) => r.headers['event_id'] === res.body.eventId)!;
      assert.equal(rec.key, callKey(SITE_A, 'generic:ok-1'));
      assert.equal(ev.siteId, SITE_A);
      assert.equal(ev.producer, 'telephony-ingest');
      const { CallStatus, CallDirection } = calltrack.events.v1;
      assert.deepEqual(
        {
          callId: ev.payload.callId,
          provider: ev.payload.provider,
          providerCallId: ev.payload.providerCallId,
          trackingNumber: ev.payload.trackingNumber,
          callerNumber: ev.payload.callerNumber,
          direction: ev.payload.direction,
          status: ev.payload.status,
          startedAtMs: Number(ev.payload.startedAtMs),
          answeredAtMs: Number(ev.payload.answeredAtMs),
          endedAtMs: Number(ev.payload.endedAtMs),
          recordingUrl: ev.payload.recordingUrl,
          sequence: ev.payload.sequence,
        },
        {
          callId: 'generic:ok-1',
          provider: 'generic',
          providerCallId: 'ok-1',
          trackingNumber: '+74951234567',
          callerNumber: '+79161234567',
          direction: CallDirection.CALL_DIRECTION_INBOUND,
          status: CallStatus.CALL_STATUS_COMPLETED,
          startedAtMs: T0,
          answeredAtMs: T0 + 4000,
          endedAtMs: T0 + 180_000,
          recordingUrl: 'https://rec.example.com/ok-1.mp3',
          sequence: 3,
        },
      );
      assert.equal(ev.occurredAtMs, T0 + 180_000);

      const raw = JSON.stringify(call({ callId: 'ok-charset' }));
      const ts = nowSeconds();
      const charset = await post(SITE_A, raw, {
        'content-type': 'application/json; charset=utf-8',
        'x-calltrack-timestamp': String(ts),
        'x-calltrack-signature': signWebhook(SECRET_A, ts, raw),
      });
      assert.equal(charset.status, 202, 'a charset parameter is fine');
    });

    it('gives a retried webhook the same event id (also when re-signed later)', async () => {
      const raw = JSON.stringify(call({ callId: 'dup-1', status: 'ringing', answeredAt: undefined, endedAt: undefined }));
      const first = await send(SITE_A, SECRET_A, raw);
      const again = await send(SITE_A, SECRET_A, raw);
      const resigned = await send(SITE_A, SECRET_A, raw, nowSeconds() - 60);
      assert.deepEqual([first.status, again.status, resigned.status], [202, 202, 202]);
      assert.equal(again.body.eventId, first.body.eventId);
      assert.equal(resigned.body.eventId, first.body.eventId);
      const next = await send(SITE_A, SECRET_A, JSON.stringify(call({ callId: 'dup-1', status: 'answered', endedAt: undefined })));
      assert.notEqual(next.body.eventId, first.body.eventId, 'a new state of the call is a new event');
      const events = await waitFor(
        () => {
          const e = callEvents().filter((x) => x.payload.callId === 'generic:dup-1');
          return e.length >= 4 && e;
        },
        { what: 'dup-1 reports' },
      );
      assert.equal(new Set(events.map((e) => e.eventId)).size, 2);
      const ringing = events.find((e) => e.eventId === first.body.eventId)!;
      assert.equal(ringing.payload.sequence, 1);
      assert.equal(Number(ringing.payload.endedAtMs), 0);
      assert.equal(events.find((e) => e.eventId === next.body.eventId)!.payload.sequence, 2);
    });

    it('refuses a bad, missing or malformed signature with 401 invalid_signature', async () => {
      const body = call({ callId: 'forged-1' });
      rejectedCallIds.push('forged-1');
      const raw = JSON.stringify(body);
      const ts = nowSeconds();
      const forged = await post(SITE_A, raw, {
        'x-calltrack-timestamp': String(ts),
        'x-calltrack-signature': signWebhook('whsec_guessed_0123456789abcdefghijkl', ts, raw),
      });
      assert.equal(forged.status, 401);
      assert.equal(forged.body.error.code, 'invalid_signature');
      const tampered = await post(SITE_A, raw.replace('forged-1', 'forged-2'), {
        'x-calltrack-timestamp': String(ts),
        'x-calltrack-signature': signWebhook(SECRET_A, ts, raw),
      });
      assert.equal(tampered.status, 401);
      assert.equal(tampered.body.error.code, 'invalid_signature');
      rejectedCallIds.push('forged-2');
      const unsigned = await post(SITE_A, raw, {});
      assert.equal(unsigned.status, 401);
      assert.equal(unsigned.body.error.code, 'invalid_signature');
      const malformed = await post(SITE_A, raw, { 'x-calltrack-timestamp': String(ts), 'x-calltrack-signature': 'sha256=abc' });
      assert.equal(malformed.status, 401);
      assert.equal(malformed.body.error.code, 'invalid_signature');
    });

    it('never reveals validation details to an unsigned request', async () => {
      const res = await post(SITE_A, JSON.stringify({ callId: 5, extra: true }), {});
      assert.equal(res.status, 401);
      assert.equal(res.body.error.code, 'invalid_signature');
      assert.doesNotMatch(JSON.stringify(res.body), /callId|extra/);
    });

    it('refuses a stale (or future) timestamp with 401 stale_timestamp', async () => {
      rejectedCallIds.push('stale-1');
      const stale = await send(SITE_A, SECRET_A, call({ callId: 'stale-1' }), nowSeconds() - config.WEBHOOK_TOLERANCE_SECONDS - 30);
      assert.equal(stale.status, 401);
      assert.equal(stale.body.error.code, 'stale_timestamp');
      const future = await send(SITE_A, SECRET_A, call({ callId: 'stale-1' }), nowSeconds() + config.WEBHOOK_TOLERANCE_SECONDS + 30);
      assert.equal(future.status, 401);
      assert.equal(future.body.error.code, 'stale_timestamp');
    });

    it("refuses a webhook signed with another tenant's secret (site A's secret on site B's URL)", async () => {
      rejectedCallIds.push('tenant-1');
      const res = await send(SITE_B, SECRET_A, call({ callId: 'tenant-1', trackingNumber: '+14155550123', callerNumber: '' }));
      assert.equal(res.status, 401);
      assert.equal(res.body.error.code, 'invalid_signature');
      const own = await send(SITE_B, SECRET_B, call({ callId: 'tenant-ok', trackingNumber: '(415) 555-0123', callerNumber: '' }));
      assert.equal(own.status, 202, JSON.stringify(own.body));
      const ev = await waitFor(() => callEvents().find((e) => e.eventId === own.body.eventId), { what: 'site-b report' });
      assert.equal(ev.siteId, SITE_B);
      assert.equal(ev.payload.trackingNumber, '+14155550123');
      assert.equal(ev.payload.callerNumber, '');
    });

    it('answers 404 unknown_site for an unknown site and for a site without a secret', async () => {
      const unknown = await send('no-such-site', SECRET_A, call());
      assert.equal(unknown.status, 404);
      assert.equal(unknown.body.error.code, 'unknown_site');
      const invalidId = await send('Not..A..Site', SECRET_A, call());
      assert.equal(invalidId.status, 404);
      await produceRaw(env, 'sites', [{ key: siteKey('site-nosecret'), value: encodeEvent(siteConfigured('site-nosecret', 'RU')) }]);
      await waitFor(async () => (await http('GET', `${svc.url}/v1/admin/sites/site-nosecret/webhook-stats`, { headers: admin })).status === 200, {
        what: 'site-nosecret known',
      });
      const noSecret = await send('site-nosecret', SECRET_A, call());
      assert.equal(noSecret.status, 404);
      assert.equal(noSecret.body.error.code, 'unknown_site');
    });

    it('answers invalid JSON with 400, an oversized body with 413, other media types with 415', async () => {
      // Raised by Fastify before the handler. service-kit means to label them invalid_json / body_too_large /
      // unsupported_media_type, but Nest wraps Fastify's error first and the label comes out as http_<status>
      // (reported to the lead); the status, the JSON shape and the message are what is asserted exactly.
      const transportError = (res: Awaited<ReturnType<typeof http>>, status: number, code: string, message: RegExp) => {
        assert.equal(res.status, status, JSON.stringify(res.body));
        assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
        assert.ok([code, `http_${status}`].includes(res.body.error.code), JSON.stringify(res.body));
        assert.match(res.body.error.message, message);
      };
      transportError(await send(SITE_A, SECRET_A, '{"callId": "x",'), 400, 'invalid_json', /not valid JSON/);
      transportError(await post(SITE_A, '', {}), 400, 'invalid_json', /cannot be empty/);
      transportError(await send(SITE_A, SECRET_A, '{"__proto__": {"admin": true}}'), 400, 'invalid_json', /JSON/);
      const huge = JSON.stringify(call({ callId: 'huge', pad: 'x'.repeat(config.WEBHOOK_BODY_LIMIT_BYTES) }));
      rejectedCallIds.push('huge');
      transportError(await send(SITE_A, SECRET_A, huge), 413, 'body_too_large', /too large/);
      for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/xml', '']) {
        const raw = JSON.stringify(call());
        const ts = nowSeconds();
        const headers: Record<string, string> = { 'x-calltrack-timestamp': String(ts), 'x-calltrack-signature': signWebhook(SECRET_A, ts, raw) };
        if (type) headers['content-type'] = type;
        const res = await http('POST', `${svc.url}/v1/webhooks/generic/${SITE_A}`, { rawBody: raw, headers });
        transportError(res, 415, 'unsupported_media_type', /media type|Content-Type/i);
      }
    });

    it('names the offending field of a signed but invalid body (400)', async () => {
      const { trackingNumber: _t, ...noTracking } = call({ callId: 'bad-1' });
      const cases: Array<[unknown, string]> = [
        [noTracking, 'trackingNumber'],
        [call({ callId: 'bad-2', startedAt: true }), 'startedAt'],
        [call({ callId: 'bad-3', sequence: 'one' }), 'sequence'],
        [call({ callId: 'bad-4', durationSec: 12 }), 'durationSec'],
        [call({ callId: 'bad-5', endedAt: at(-3600_000), answeredAt: undefined }), 'endedAt'],
        [call({ callId: 'bad-6', answeredAt: at(3600_000) }), 'answeredAt'],
        [call({ callId: 'bad-7', trackingNumber: '12345' }), 'trackingNumber'],
        [call({ callId: 'bad-8', recordingUrl: 'file:///etc/passwd' }), 'recordingUrl'],
        [call({ callId: 'bad-9', status: 'hungup' }), 'status'],
        // The time window every adapter applies: year 2001 and year 9999 are refused, not stored.
        [call({ callId: 'bad-10', startedAt: '2001-03-01T10:00:00Z', answeredAt: undefined, endedAt: undefined }), 'startedAt'],
        [call({ callId: 'bad-11', endedAt: '9999-12-31T23:59:59Z' }), 'endedAt'],
        // Ids: no control or white-space characters, at most 128 characters.
        [call({ callId: 'bad\u000012' }), 'callId'],
        [call({ callId: 'x'.repeat(129) }), 'callId'],
        [call({ callId: 'bad-14', callerNumber: 'sip:evil@example.com' }), 'callerNumber'],
      ];
      for (const [body, field] of cases) {
        const res = await send(SITE_A, SECRET_A, body);
        assert.equal(res.status, 400, `${field}: ${JSON.stringify(res.body)}`);
        assert.equal(res.body.error.code, 'invalid_request');
        assert.ok(
          res.body.error.details.some((d: { field: string }) => d.field === field),
          `${field} named in ${JSON.stringify(res.body)}`,
        );
        assert.match(res.body.error.message, new RegExp(field));
      }
      rejectedCallIds.push(...cases.map((_, i) => `bad-${i + 1}`));
    });

    it('published nothing for any refused webhook', async () => {
      const marker = await send(SITE_A, SECRET_A, call({ callId: 'marker' }));
      assert.equal(marker.status, 202);
      await waitFor(() => callEvents().find((e) => e.eventId === marker.body.eventId), { what: 'marker report' });
      const published = new Set(callEvents().map((e) => e.payload.providerCallId));
      assert.deepEqual(
        rejectedCallIds.filter((id) => published.has(id)),
        [],
      );
      assert.equal(probe.deadLetters('calls').length, 0);
    });

    it('counts rejected webhooks per site and reason', async () => {
      const a = await http('GET', `${svc.url}/v1/admin/sites/${SITE_A}/webhook-stats`, { headers: admin });
      assert.equal(a.status, 200);
      assert.equal(a.body.secretConfigured, true);
      assert.deepEqual(a.body.rejected, {
        no_secret: 0,
        missing_signature: 2,
        malformed_signature: 1,
        signature_mismatch: 2,
        stale_timestamp: 2,
        invalid_payload: 14,
      });
      assert.ok(a.body.accepted >= 6);
      const b = await http('GET', `${svc.url}/v1/admin/sites/${SITE_B}/webhook-stats`, { headers: admin });
      assert.equal(b.body.rejected.signature_mismatch, 1);
      assert.equal(b.body.accepted, 1);
      const nosecret = await http('GET', `${svc.url}/v1/admin/sites/site-nosecret/webhook-stats`, { headers: admin });
      assert.equal(nosecret.body.rejected.no_secret, 1);
      assert.equal(nosecret.body.secretConfigured, false);
      const unknown = await http('GET', `${svc.url}/v1/admin/sites/no-such-site/webhook-stats`, { headers: admin });
      assert.equal(unknown.status, 404);
    });
  });

  describe('restart and rotation', () => {
    it('rotates a secret: the old one stops verifying', async () => {
      const res = await http('PUT', `${svc.url}/v1/admin/sites/${SITE_A}/webhook-secret`, { body: { secret: SECRET_A2 }, headers: admin });
      assert.equal(res.status, 200);
      assert.equal((await send(SITE_A, SECRET_A, call())).status, 401);
      assert.equal((await send(SITE_A, SECRET_A2, call())).status, 202);
    });

    it('rebuilds sites and the latest secrets from Kafka after a restart', async () => {
      await svc.close();
      svc = await startTelephonyIngest(config);
      // No admin call after the restart: the state comes from the replay alone.
      const res = await send(SITE_A, SECRET_A2, call({ callId: 'after-restart' }));
      assert.equal(res.status, 202, JSON.stringify(res.body));
      await waitFor(async () => (await http('GET', `${svc.url}/readyz`)).status === 200, { what: 'ready after restart' });
      // The new member re-reads both topics from the beginning: the rotated secret must stay in force.
      assert.equal((await send(SITE_A, SECRET_A2, call())).status, 202);
      assert.equal((await send(SITE_A, SECRET_A, call())).status, 401);
      assert.equal((await send(SITE_B, SECRET_B, call({ trackingNumber: '+14155550123', callerNumber: '' }))).status, 202);
      assert.equal((await send(SITE_C, SECRET_A, call())).status, 202);
    });
  });
});
