import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { callKey, calltrack, createEvent, encodeEvent, siteKey, type DomainEvent } from '@calltrack/contracts';
import type { RunningService } from '@calltrack/service-kit';
import { createKafkaTestEnv, http, produceRaw, TopicProbe, waitFor, type KafkaTestEnv } from '@calltrack/testing';
import { CallStage, observationSequence } from '../calls/call-merge.js';
import { loadTelephonyIngestConfig, type TelephonyIngestConfig } from '../config.js';
import { mangoSign } from './mango/mango-signature.js';
import { startTelephonyIngest } from '../telephony-ingest.app.js';
import { twilioSignature } from './twilio/twilio-signature.js';
import { zadarmaSignature, zadarmaSignedString } from './zadarma/zadarma-signature.js';

const { CallStatus, CallDirection } = calltrack.events.v1;
const ADMIN_TOKEN = 'test-admin-token-0123456789';
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
const SITE = 'prov-ru'; // RU, Europe/Moscow: every provider configured
const SITE_US = 'prov-us'; // US: Twilio only, with another token
const SITE_BARE = 'prov-bare'; // RU: no provider credentials

const TWILIO_TOKEN = 'f3b1e2d4c5a6978812345678abcdef01';
const TWILIO_TOKEN_US = '0123456789abcdef0123456789abcdef';
const ZADARMA_SECRET = 'zd_secret_0123456789';
const MANGO_KEY = 'mango_key_0123456789abcdef';
const MANGO_SALT = 'mango_salt_0123456789abcdef';
const telnyxKeys = generateKeyPairSync('ed25519');
const TELNYX_PUBLIC_KEY = Buffer.from(telnyxKeys.publicKey.export({ format: 'jwk' }).x!, 'base64url').toString('base64');

const siteConfigured = (siteId: string, country: string, timeZone: string, defaultNumber: string) =>
  createEvent('SiteConfigured', { name: siteId, country, timeZone, defaultNumber }, { siteId, producer: 'test' });

const FORM = 'application/x-www-form-urlencoded';
// Recent: every adapter refuses times outside its window (EVENT_TIME_MAX_AGE_DAYS, Zadarma's replay window).
// Set when the file's tests start, not when it is imported: the integration run imports every file
// first, and this one may start many minutes later.
let T0 = 0;
/** Wall-clock time in Moscow (UTC+3, no DST), as Zadarma sends call_start. */
const moscow = (ms: number) => new Date(ms + 3 * 3600_000).toISOString().slice(0, 19).replace('T', ' ');
const rfc2822 = (ms: number) => new Date(ms).toUTCString().replace('GMT', '+0000');

describe('telephony provider adapters (integration)', () => {
  let env: KafkaTestEnv;
  let probe: TopicProbe;
  let svc: RunningService;
  let config: TelephonyIngestConfig;
  /** Provider call ids of refused requests: none may reach the calls topic. */
  const refused: string[] = [];
  /** The accepted end of a Zadarma call, replayed after a restart. */
  let guardedEnd: Record<string, string> | undefined;

  const callEvents = (callId: string) => (probe.events('calls') as Array<DomainEvent<'CallReported'>>).filter((e) => e.payload.callId === callId);
  /** Waits until the call's reports include an event id, then returns all of them in topic order. */
  const reportsUntil = (callId: string, eventId: string) =>
    waitFor(
      () => {
        const events = callEvents(callId);
        return events.some((e) => e.eventId === eventId) && events;
      },
      { what: `${callId} report ${eventId}` },
    );
  const stats = async (siteId: string) => (await http('GET', `${svc.url}/v1/admin/sites/${siteId}/webhook-stats`, { headers: admin })).body;
  const numbers = (e: DomainEvent<'CallReported'>) => ({
    status: e.payload.status,
    direction: e.payload.direction,
    trackingNumber: e.payload.trackingNumber,
    callerNumber: e.payload.callerNumber,
    calledNumber: e.payload.calledNumber,
    startedAtMs: Number(e.payload.startedAtMs),
    answeredAtMs: Number(e.payload.answeredAtMs),
    endedAtMs: Number(e.payload.endedAtMs),
  });

  before(async () => {
    T0 = Math.floor(Date.now() / 1000) * 1000 - 5000;
    env = await createKafkaTestEnv('telephony-providers');
    probe = await TopicProbe.start(env, ['calls', 'telephonySecrets']);
    await produceRaw(env, 'sites', [
      { key: siteKey(SITE), value: encodeEvent(siteConfigured(SITE, 'RU', 'Europe/Moscow', '+74951234500')) },
      { key: siteKey(SITE_US), value: encodeEvent(siteConfigured(SITE_US, 'US', 'America/New_York', '+14155550100')) },
      { key: siteKey(SITE_BARE), value: encodeEvent(siteConfigured(SITE_BARE, 'RU', 'Europe/Moscow', '+74951234500')) },
    ]);
    // HTTP_TRUST_PROXY: the test plays the proxy (on loopback) that sets X-Forwarded-Proto/Host.
    config = {
      ...loadTelephonyIngestConfig({
        ...env.env,
        HTTP_HOST: '127.0.0.1',
        ADMIN_TOKEN,
        LOG_LEVEL: process.env['TEST_LOG_LEVEL'] ?? 'silent',
        HTTP_TRUST_PROXY: 'loopback',
      }),
      PORT: 0,
    };
    svc = await startTelephonyIngest(config);
    await waitFor(async () => (await http('GET', `${svc.url}/readyz`)).status === 200, { what: 'telephony-ingest ready' });
  });

  after(async () => {
    await svc?.close();
    await probe?.stop();
  });

  describe('provider credentials (admin API)', () => {
    const put = (siteId: string, provider: string, body: unknown, headers: Record<string, string> = admin) =>
      http('PUT', `${svc.url}/v1/admin/sites/${siteId}/providers/${provider}`, { body, headers });

    it("sets each provider's credentials: 200 without echoing them, one compacted record per site and provider", async () => {
      const bodies: Array<[string, string, object]> = [
        [SITE, 'twilio', { authToken: TWILIO_TOKEN }],
        [SITE, 'zadarma', { secret: ZADARMA_SECRET }],
        [SITE, 'mango', { apiKey: MANGO_KEY, apiSalt: MANGO_SALT }],
        [SITE, 'telnyx', { publicKey: TELNYX_PUBLIC_KEY }],
        [SITE_US, 'twilio', { authToken: TWILIO_TOKEN_US }],
      ];
      for (const [siteId, provider, body] of bodies) {
        const res = await put(siteId, provider, body);
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.deepEqual({ ...res.body, eventId: undefined }, { siteId, provider, credentialsSet: true, applied: true, eventId: undefined });
        for (const secret of Object.values(body)) assert.doesNotMatch(JSON.stringify(res.body), new RegExp(secret.replace(/[+/]/g, '.')));
      }
      const records = await waitFor(
        () => {
          const r = probe.records.filter((x) => x.topic === env.topic('telephonySecrets'));
          return r.length >= 5 && r;
        },
        { what: 'credential records' },
      );
      assert.deepEqual(records.map((r) => r.key).sort(), [`${SITE_US}:twilio`, `${SITE}:mango`, `${SITE}:telnyx`, `${SITE}:twilio`, `${SITE}:zadarma`].sort());
      const mango = (probe.events('telephonySecrets') as Array<DomainEvent<'WebhookSecretSet'>>).find((e) => e.payload.provider === 'mango')!;
      assert.deepEqual([mango.payload.apiKey, mango.payload.secret], [MANGO_KEY, MANGO_SALT]);
    });

    it('refuses an unknown provider, bad credentials, an unknown site and a missing token', async () => {
      assert.equal((await put(SITE, 'skype', { secret: 'x'.repeat(20) })).status, 404);
      const badKey = await put(SITE, 'telnyx', { publicKey: 'bm90IGEga2V5' });
      assert.equal(badKey.status, 400);
      assert.match(badKey.body.error.message, /publicKey/);
      const missing = await put(SITE, 'mango', { apiKey: MANGO_KEY });
      assert.equal(missing.status, 400);
      assert.match(missing.body.error.message, /apiSalt/);
      const extra = await put(SITE, 'twilio', { authToken: TWILIO_TOKEN, accountSid: 'AC1' });
      assert.equal(extra.status, 400);
      assert.doesNotMatch(JSON.stringify(extra.body), new RegExp(TWILIO_TOKEN));
      assert.equal((await put('no-such-site', 'twilio', { authToken: TWILIO_TOKEN })).status, 404);
      assert.equal((await put(SITE, 'twilio', { authToken: TWILIO_TOKEN }, {})).status, 401);
    });
  });

  describe('Twilio', () => {
    const SID = 'CA5d8f1c0e2b3a4f69788a9b0c1d2e3f40';
    const path = (siteId: string) => `/v1/webhooks/twilio/${siteId}`;
    const callback = (over: Record<string, string>) => ({
      AccountSid: 'AC0123456789abcdef0123456789abcdef',
      ApiVersion: '2010-04-01',
      CallSid: SID,
      CallStatus: 'ringing',
      Direction: 'inbound',
      From: '+79161234567',
      Caller: '+79161234567',
      To: '+74951234567',
      Called: '+74951234567',
      CallbackSource: 'call-progress-events',
      Timestamp: rfc2822(T0),
      SequenceNumber: '1',
      ...over,
    });
    /** Posts a callback signed for `signedUrl` (default: the URL as the test requests it). */
    const post = (
      siteId: string,
      params: Record<string, string>,
      options: { token?: string; signedUrl?: string; headers?: Record<string, string>; signature?: string } = {},
    ) => {
      const url = `${svc.url}${path(siteId)}`;
      const signature = options.signature ?? twilioSignature(options.token ?? TWILIO_TOKEN, options.signedUrl ?? url, Object.entries(params));
      return http('POST', url, {
        rawBody: new URLSearchParams(params).toString(),
        headers: { 'content-type': FORM, 'x-twilio-signature': signature, ...options.headers },
      });
    };

    it('merges out-of-order status callbacks into one call record; a repeated one changes nothing', async () => {
      const completed = callback({
        CallStatus: 'completed',
        SequenceNumber: '3',
        CallDuration: '53',
        Timestamp: rfc2822(T0 + 60_000),
        RecordingUrl: 'https://api.twilio.com/2010-04-01/Accounts/AC0/Recordings/RE1',
      });
      const ringing = callback({ CallStatus: 'ringing', SequenceNumber: '1' });
      const inProgress = callback({ CallStatus: 'in-progress', SequenceNumber: '2', Timestamp: rfc2822(T0 + 6000) });
      const outcomes = [];
      for (const params of [completed, ringing, inProgress, completed]) {
        const res = await post(SITE, params);
        assert.equal(res.status, 200, JSON.stringify(res.body));
        outcomes.push(res.body.outcome);
      }
      assert.deepEqual(outcomes, ['published', 'published', 'published', 'duplicate']);
      const res = await post(SITE, inProgress);
      assert.equal(res.body.outcome, 'duplicate');
      const callId = `twilio:${SID}`;
      const events = await reportsUntil(callId, res.body.eventId);
      assert.equal(events.length, 3, 'one report per change, none for the repeats');
      const keys = new Set(
        probe.records.filter((r) => r.topic === env.topic('calls') && events.some((e) => e.eventId === r.headers['event_id'])).map((r) => r.key),
      );
      assert.deepEqual([...keys], [callKey(SITE, callId)]);
      const endSequence = observationSequence({ stage: CallStage.end, providerSequence: 3 });
      assert.deepEqual(
        events.map((e) => e.payload.sequence),
        [endSequence, endSequence, endSequence],
        'a late start never steps the call back',
      );
      assert.deepEqual(numbers(events.at(-1)!), {
        status: CallStatus.CALL_STATUS_COMPLETED,
        direction: CallDirection.CALL_DIRECTION_INBOUND,
        trackingNumber: '+74951234567',
        callerNumber: '+79161234567',
        calledNumber: '',
        startedAtMs: T0,
        answeredAtMs: T0 + 6000,
        endedAtMs: T0 + 60_000,
      });
      assert.equal(events.at(-1)!.payload.recordingUrl, 'https://api.twilio.com/2010-04-01/Accounts/AC0/Recordings/RE1');
      // The end alone was already a whole report: answered CallDuration before it.
      assert.deepEqual([numbers(events[0]!).status, numbers(events[0]!).answeredAtMs], [CallStatus.CALL_STATUS_COMPLETED, T0 + 7000]);
    });

    it('verifies the public URL given by a trusted proxy (X-Forwarded-Proto/Host)', async () => {
      const params = callback({ CallSid: 'CA' + 'a'.repeat(32) });
      const publicUrl = `https://hooks.example.com${path(SITE)}`;
      const viaProxy = await post(SITE, params, { signedUrl: publicUrl, headers: { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'hooks.example.com' } });
      assert.equal(viaProxy.status, 200, JSON.stringify(viaProxy.body));
      const direct = await post(SITE, callback({ CallSid: 'CA' + 'b'.repeat(32) }), { signedUrl: publicUrl });
      assert.equal(direct.status, 401, 'signed for the public URL but received without the proxy headers');
      refused.push('CA' + 'b'.repeat(32));
    });

    it('refuses forged, unsigned and other-tenant callbacks with 401, and publishes nothing', async () => {
      const forgedSid = 'CA' + 'c'.repeat(32);
      refused.push(forgedSid);
      const params = callback({ CallSid: forgedSid });
      const forged = await post(SITE, params, { token: 'ffffffffffffffffffffffffffffffff' });
      assert.deepEqual([forged.status, forged.body.error.code], [401, 'invalid_signature']);
      const tampered = await http('POST', `${svc.url}${path(SITE)}`, {
        rawBody: new URLSearchParams({ ...params, To: '+74957777777' }).toString(),
        headers: { 'content-type': FORM, 'x-twilio-signature': twilioSignature(TWILIO_TOKEN, `${svc.url}${path(SITE)}`, Object.entries(params)) },
      });
      assert.deepEqual([tampered.status, tampered.body.error.code], [401, 'invalid_signature']);
      const unsigned = await http('POST', `${svc.url}${path(SITE)}`, { rawBody: new URLSearchParams(params).toString(), headers: { 'content-type': FORM } });
      assert.deepEqual([unsigned.status, unsigned.body.error.code], [401, 'invalid_signature']);
      assert.doesNotMatch(JSON.stringify(unsigned.body), /CallSid|To/);
      const malformed = await post(SITE, params, { signature: 'abc' });
      assert.equal(malformed.status, 401);
      // Site A's token on site B's URL.
      const otherTenant = await post(SITE_US, callback({ CallSid: forgedSid, To: '+14155550123', From: '+16175551212' }));
      assert.equal(otherTenant.status, 401);
    });

    it('answers 400 naming the field for a signed but malformed callback, 404 for a site without Twilio, 415 for JSON', async () => {
      const bad = await post(SITE, callback({ CallSid: 'CA-not-a-sid', CallStatus: 'hungup' }));
      assert.equal(bad.status, 400, JSON.stringify(bad.body));
      assert.deepEqual(bad.body.error.details.map((d: { field: string }) => d.field).sort(), ['CallSid', 'CallStatus']);
      const bare = await post(SITE_BARE, callback({}));
      assert.deepEqual([bare.status, bare.body.error.code], [404, 'unknown_site']);
      const unknown = await post('no-such-site', callback({}));
      assert.equal(unknown.status, 404);
      const json = await http('POST', `${svc.url}${path(SITE)}`, { body: callback({}), headers: { 'x-twilio-signature': 'x' } });
      assert.equal(json.status, 415);
    });

    it('reports a call placed through the API as outbound, with who was called', async () => {
      const sid = 'CA' + 'd'.repeat(32);
      const res = await post(
        SITE,
        callback({
          CallSid: sid,
          Direction: 'outbound-api',
          From: '+74951234567',
          To: '+79165550000',
          CallStatus: 'completed',
          SequenceNumber: '3',
          CallDuration: '20',
        }),
      );
      assert.equal(res.status, 200);
      const [e] = await reportsUntil(`twilio:${sid}`, res.body.eventId);
      assert.deepEqual(
        [e!.payload.direction, e!.payload.trackingNumber, e!.payload.calledNumber],
        [CallDirection.CALL_DIRECTION_OUTBOUND, '+74951234567', '+79165550000'],
      );
      const child = await post(SITE, callback({ CallSid: 'CA' + 'e'.repeat(32), Direction: 'outbound-dial', ParentCallSid: sid }));
      assert.deepEqual([child.status, child.body.outcome], [200, 'ignored']);
      refused.push('CA' + 'e'.repeat(32));
    });
  });

  describe('Zadarma', () => {
    const url = (siteId: string) => `${svc.url}/v1/webhooks/zadarma/${siteId}`;
    const post = (siteId: string, form: Record<string, string>, signature?: string) =>
      http('POST', url(siteId), {
        rawBody: new URLSearchParams(form).toString(),
        headers: { 'content-type': FORM, Signature: signature ?? zadarmaSignature(ZADARMA_SECRET, zadarmaSignedString(form) ?? '') },
      });
    const CALL = 'in_1740823200.555';
    let start: Record<string, string>;
    let answer: Record<string, string>;
    let end: Record<string, string>;
    before(() => {
      start = { event: 'NOTIFY_START', call_start: moscow(T0), pbx_call_id: CALL, caller_id: '79161234567', called_did: '74951234567' };
      answer = { event: 'NOTIFY_ANSWER', caller_id: '79161234567', destination: '101', call_start: moscow(T0), pbx_call_id: CALL, internal: '101' };
      end = {
        ...start,
        event: 'NOTIFY_END',
        internal: '101',
        duration: '30',
        disposition: 'answered',
        status_code: '16',
        is_recorded: '0',
        call_id_with_rec: '',
      };
    });

    it('echoes zd_echo as plain text when the URL is checked', async () => {
      const res = await fetch(`${url(SITE)}?zd_echo=a1b2c3d4e5`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
      assert.equal(await res.text(), 'a1b2c3d4e5');
      assert.equal((await fetch(`${url(SITE)}?zd_echo=<script>`)).status, 400);
      assert.equal((await fetch(`${url(SITE_BARE)}?zd_echo=abc`)).status, 404);
    });

    it('merges answer and end arriving before the start into one answered call', async () => {
      const responses = [];
      for (const form of [answer, end, start, end]) {
        const res = await post(SITE, form);
        assert.equal(res.status, 200, String(res.body));
        assert.equal(res.body, undefined, 'an empty body: Zadarma would read JSON as routing instructions');
        responses.push(res);
      }
      // The answer alone names no tracking number (destination is an extension): held until the end names it.
      // The start then says nothing the end did not (NOTIFY_END carries call_start too); the repeated end nothing at all.
      assert.deepEqual(
        responses.map((r) => r.headers.get('x-calltrack-outcome')),
        ['held', 'published', 'duplicate', 'duplicate'],
      );
      const events = await reportsUntil(`zadarma:${CALL}`, responses[1]!.headers.get('x-calltrack-event-id')!);
      assert.equal(events.length, 1);
      const last = numbers(events[0]!);
      assert.equal(last.status, CallStatus.CALL_STATUS_COMPLETED);
      assert.deepEqual([last.trackingNumber, last.callerNumber, last.startedAtMs], ['+74951234567', '+79161234567', T0]);
      assert.ok(last.answeredAtMs > T0 && last.answeredAtMs <= last.endedAtMs, 'answered when NOTIFY_ANSWER arrived, before the end');
    });

    it('refuses a forged or unsigned notification with 401', async () => {
      refused.push('in_forged');
      const form = { ...start, pbx_call_id: 'in_forged' };
      const forged = await post(SITE, form, zadarmaSignature('not_the_secret_0000', zadarmaSignedString(form)!));
      assert.deepEqual([forged.status, forged.body.error.code], [401, 'invalid_signature']);
      const unsigned = await http('POST', url(SITE), { rawBody: new URLSearchParams(form).toString(), headers: { 'content-type': FORM } });
      assert.equal(unsigned.status, 401);
      const tampered = await post(SITE, form, zadarmaSignature(ZADARMA_SECRET, zadarmaSignedString({ ...form, called_did: '74950000000' })!));
      assert.equal(tampered.status, 401);
    });

    it('answers 400 naming the field of a signed but malformed notification', async () => {
      const bad = await post(SITE, { ...start, pbx_call_id: 'in_bad', call_start: 'yesterday' });
      assert.equal(bad.status, 400);
      assert.equal(bad.body.error.details[0].field, 'call_start');
      refused.push('in_bad');
    });
  });

  describe('Mango Office', () => {
    const ENTRY = 'MjA2NDQ2NzE1Njo0MDE=';
    let T = 0;
    const post = (siteId: string, kind: string, payload: object, options: { key?: string; salt?: string } = {}) => {
      const json = JSON.stringify(payload);
      const key = options.key ?? MANGO_KEY;
      return http('POST', `${svc.url}/v1/webhooks/mango/${siteId}/events/${kind}`, {
        rawBody: new URLSearchParams({ vpbx_api_key: key, sign: mangoSign(key, json, options.salt ?? MANGO_SALT), json }).toString(),
        headers: { 'content-type': FORM },
      });
    };
    let appeared: Record<string, unknown>;
    let connected: Record<string, unknown>;
    let summary: Record<string, unknown>;
    before(() => {
      T = T0 / 1000;
      appeared = {
        entry_id: ENTRY,
        call_id: 'MToxMDEz',
        timestamp: T,
        seq: 1,
        call_state: 'Appeared',
        location: 'ivr',
        from: { number: '79161234567' },
        to: { number: '74951234567', line_number: '74951234567' },
      };
      connected = {
        ...appeared,
        call_id: 'MToxMDE0',
        seq: 1,
        call_state: 'Connected',
        location: 'abonent',
        timestamp: T + 8,
        to: { extension: '101', number: 'sip:manager@vpbx.mangosip.ru' },
      };
      summary = {
        entry_id: ENTRY,
        call_direction: 1,
        from: { number: '79161234567' },
        to: { extension: '101' },
        line_number: '74951234567',
        create_time: T,
        forward_time: T + 3,
        talk_time: T + 8,
        end_time: T + 70,
        entry_result: 1,
        disconnect_reason: 1110,
      };
    });

    it('takes the summary as the final word: call events arriving after it change nothing', async () => {
      const outcomes = [];
      for (const [kind, payload] of [
        ['summary', summary],
        ['call', appeared],
        ['call', connected],
      ] as const) {
        const res = await post(SITE, kind, payload);
        assert.equal(res.status, 200, JSON.stringify(res.body));
        outcomes.push(res.body.outcome);
      }
      assert.deepEqual(outcomes, ['published', 'duplicate', 'duplicate']);
      const res = await post(SITE, 'summary', summary);
      const events = await reportsUntil(`mango:${ENTRY}`, res.body.eventId);
      assert.equal(events.length, 1);
      assert.deepEqual(numbers(events[0]!), {
        status: CallStatus.CALL_STATUS_COMPLETED,
        direction: CallDirection.CALL_DIRECTION_INBOUND,
        trackingNumber: '+74951234567',
        callerNumber: '+79161234567',
        calledNumber: '',
        startedAtMs: T0,
        answeredAtMs: T0 + 8000,
        endedAtMs: T0 + 70_000,
      });
    });

    it('reports a call in progress from its events, then ends it with the summary', async () => {
      const entry = 'MjA2NDQ2NzE1Njo0MDI=';
      const a = await post(SITE, 'call', { ...appeared, entry_id: entry });
      const c = await post(SITE, 'call', { ...connected, entry_id: entry });
      assert.deepEqual([a.body.outcome, c.body.outcome], ['published', 'published']);
      const s = await post(SITE, 'summary', { ...summary, entry_id: entry });
      const events = await reportsUntil(`mango:${entry}`, s.body.eventId);
      assert.deepEqual(
        events.map((e) => e.payload.status),
        [CallStatus.CALL_STATUS_RINGING, CallStatus.CALL_STATUS_ANSWERED, CallStatus.CALL_STATUS_COMPLETED],
      );
    });

    it('verifies and acknowledges the other event kinds without reporting anything', async () => {
      const res = await post(SITE, 'recording', {
        recording_id: 'r1',
        recording_state: 'Completed',
        seq: 1,
        entry_id: 'MjA2NDQ2NzE1Njo0MDM=',
        call_id: 'x',
        timestamp: T,
      });
      assert.deepEqual([res.status, res.body.outcome], [200, 'ignored']);
      const nested = await post(SITE, 'record/added', { entry_id: 'MjA2NDQ2NzE1Njo0MDM=', recording_id: 'r1', timestamp: T });
      assert.deepEqual([nested.status, nested.body.outcome], [200, 'ignored']);
      refused.push('MjA2NDQ2NzE1Njo0MDM=');
    });

    it("refuses another account's key or a wrong salt with 401", async () => {
      const entry = 'MjA2NDQ2NzE1Njo0MDQ=';
      refused.push(entry);
      const otherKey = await post(SITE, 'summary', { ...summary, entry_id: entry }, { key: 'someone_elses_key_0123' });
      assert.deepEqual([otherKey.status, otherKey.body.error.code], [401, 'invalid_signature']);
      const wrongSalt = await post(SITE, 'summary', { ...summary, entry_id: entry }, { salt: 'guessed_salt_0123456789' });
      assert.equal(wrongSalt.status, 401);
    });
  });

  describe('Telnyx', () => {
    const SESSION = '428c31b6-7af4-4bcb-b7f5-5013ef9657c1';
    const post = (siteId: string, body: object, options: { ts?: number; key?: typeof telnyxKeys.privateKey } = {}) => {
      const raw = JSON.stringify(body);
      const ts = String(options.ts ?? Math.floor(Date.now() / 1000));
      const signature = sign(null, Buffer.from(`${ts}|${raw}`), options.key ?? telnyxKeys.privateKey).toString('base64');
      return http('POST', `${svc.url}/v1/webhooks/telnyx/${siteId}`, {
        rawBody: raw,
        headers: { 'content-type': 'application/json', 'telnyx-signature-ed25519': signature, 'telnyx-timestamp': ts },
      });
    };
    const webhook = (eventType: string, id: string, occurredAt: string, payload: object, session = SESSION) => ({
      data: {
        record_type: 'event',
        event_type: eventType,
        id,
        occurred_at: occurredAt,
        payload: {
          call_control_id: `v3:${session}`,
          connection_id: '7267xxxxxxxxxxxxxx',
          call_leg_id: session,
          call_session_id: session,
          from: '+79161234567',
          to: '+74951234567',
          ...payload,
        },
      },
      meta: { attempt: 1, delivered_to: 'https://hooks.example.com' },
    });
    const iso = (ms: number) => new Date(ms).toISOString();
    let initiated: ReturnType<typeof webhook>;
    let answered: ReturnType<typeof webhook>;
    let hangup: ReturnType<typeof webhook>;
    before(() => {
      initiated = webhook('call.initiated', 'e-1', iso(T0), { direction: 'incoming', state: 'parked', start_time: iso(T0) });
      answered = webhook('call.answered', 'e-2', iso(T0 + 4000), { state: 'answered', start_time: iso(T0) });
      hangup = webhook('call.hangup', 'e-3', iso(T0 + 50_000), {
        state: 'hangup',
        start_time: iso(T0),
        end_time: iso(T0 + 50_000),
        hangup_cause: 'normal_clearing',
        hangup_source: 'callee',
        sip_hangup_cause: '200',
      });
    });

    it('merges hangup, initiated and answered (in that order) into one completed call; a redelivery changes nothing', async () => {
      const outcomes = [];
      for (const body of [hangup, initiated, answered, { ...hangup, meta: { attempt: 2, delivered_to: 'https://hooks.example.com' } }]) {
        const res = await post(SITE, body);
        assert.equal(res.status, 200, JSON.stringify(res.body));
        outcomes.push(res.body.outcome);
      }
      assert.deepEqual(outcomes, ['published', 'duplicate', 'published', 'duplicate'], 'initiated adds nothing the hangup did not say');
      const last = await post(SITE, answered);
      const events = await reportsUntil(`telnyx:${SESSION}`, last.body.eventId);
      assert.equal(events.length, 2);
      assert.deepEqual(numbers(events.at(-1)!), {
        status: CallStatus.CALL_STATUS_COMPLETED,
        direction: CallDirection.CALL_DIRECTION_INBOUND,
        trackingNumber: '+74951234567',
        callerNumber: '+79161234567',
        calledNumber: '',
        startedAtMs: T0,
        answeredAtMs: T0 + 4000,
        endedAtMs: T0 + 50_000,
      });
    });

    it('refuses a stale timestamp, another key and a changed body with 401', async () => {
      const session = 'forged-session-0001';
      refused.push(session);
      const body = webhook('call.initiated', 'e-forged', iso(T0), { direction: 'incoming' }, session);
      const stale = await post(SITE, body, { ts: Math.floor(Date.now() / 1000) - config.WEBHOOK_TOLERANCE_SECONDS - 60 });
      assert.deepEqual([stale.status, stale.body.error.code], [401, 'stale_timestamp']);
      const otherKey = await post(SITE, body, { key: generateKeyPairSync('ed25519').privateKey });
      assert.deepEqual([otherKey.status, otherKey.body.error.code], [401, 'invalid_signature']);
      const ts = String(Math.floor(Date.now() / 1000));
      const signature = sign(null, Buffer.from(`${ts}|${JSON.stringify(body)}`), telnyxKeys.privateKey).toString('base64');
      const changed = await http('POST', `${svc.url}/v1/webhooks/telnyx/${SITE}`, {
        rawBody: JSON.stringify(body).replace('+74951234567', '+74950000000'),
        headers: { 'content-type': 'application/json', 'telnyx-signature-ed25519': signature, 'telnyx-timestamp': ts },
      });
      assert.equal(changed.status, 401);
      const unsigned = await http('POST', `${svc.url}/v1/webhooks/telnyx/${SITE}`, { body });
      assert.equal(unsigned.status, 401);
    });

    it('answers 400 naming the field of a signed but malformed webhook', async () => {
      const res = await post(SITE, { data: { event_type: 'call.initiated', id: 'e-bad', occurred_at: 'soon', payload: {} } });
      assert.equal(res.status, 400);
      assert.deepEqual(res.body.error.details.map((d: { field: string }) => d.field).sort(), ['data.occurred_at', 'data.payload.call_session_id']);
    });
  });

  describe('refusals', () => {
    it('published nothing for any refused or ignored event', async () => {
      // A report sent last: once the probe has it, it has everything sent before it.
      const params = {
        CallSid: 'CA' + '9'.repeat(32),
        CallStatus: 'ringing',
        Direction: 'inbound',
        From: '+79161234567',
        To: '+74951234567',
        Timestamp: rfc2822(T0),
        SequenceNumber: '1',
      };
      const url = `${svc.url}/v1/webhooks/twilio/${SITE}`;
      const marker = await http('POST', url, {
        rawBody: new URLSearchParams(params).toString(),
        headers: { 'content-type': FORM, 'x-twilio-signature': twilioSignature(TWILIO_TOKEN, url, Object.entries(params)) },
      });
      assert.equal(marker.status, 200);
      await reportsUntil(`twilio:${params.CallSid}`, marker.body.eventId);
      const published = new Set((probe.events('calls') as Array<DomainEvent<'CallReported'>>).map((e) => e.payload.providerCallId));
      assert.deepEqual(
        refused.filter((id) => published.has(id)),
        [],
      );
      assert.equal(probe.deadLetters('calls').length, 0);
    });

    it('counts refused webhooks per site, provider and reason', async () => {
      const s = await stats(SITE);
      const rejected = (provider: string) => s.providers[provider].rejected;
      assert.deepEqual(rejected('twilio'), {
        no_credentials: 0,
        missing_signature: 1,
        malformed_signature: 1,
        signature_mismatch: 3,
        stale_timestamp: 0,
        invalid_payload: 1,
        source_not_allowed: 0,
        conflicting_event: 0,
      });
      assert.deepEqual(rejected('zadarma'), {
        no_credentials: 0,
        missing_signature: 1,
        malformed_signature: 0,
        signature_mismatch: 2,
        stale_timestamp: 0,
        invalid_payload: 1,
        source_not_allowed: 0,
        conflicting_event: 0,
      });
      assert.deepEqual(rejected('mango'), {
        no_credentials: 0,
        missing_signature: 0,
        malformed_signature: 0,
        signature_mismatch: 2,
        stale_timestamp: 0,
        invalid_payload: 0,
        source_not_allowed: 0,
        conflicting_event: 0,
      });
      assert.deepEqual(rejected('telnyx'), {
        no_credentials: 0,
        missing_signature: 1,
        malformed_signature: 0,
        signature_mismatch: 2,
        stale_timestamp: 1,
        invalid_payload: 1,
        source_not_allowed: 0,
        conflicting_event: 0,
      });
      assert.equal(s.providers.mango.ignored, 2);
      assert.equal(s.providers.twilio.ignored, 1);
      assert.ok(s.providers.twilio.accepted >= 7);
      assert.deepEqual(Object.fromEntries(Object.entries(s.providers).map(([p, v]) => [p, (v as { credentialsConfigured?: boolean }).credentialsConfigured])), {
        twilio: true,
        zadarma: true,
        mango: true,
        telnyx: true,
        asterisk: undefined,
      });
      assert.equal(s.rejectedTotal, 0, "the generic webhook's counters are its own");
      assert.equal((await stats(SITE_US)).providers.twilio.rejected.signature_mismatch, 1);
      const bare = await stats(SITE_BARE);
      assert.equal(bare.providers.twilio.rejected.no_credentials, 1);
      assert.equal(bare.providers.zadarma.rejected.no_credentials, 1);
    });
  });

  describe('hostile input (issue 10 §5)', () => {
    const twilioUrl = () => `${svc.url}/v1/webhooks/twilio/${SITE}`;
    const twilio = (over: Record<string, string>) => {
      const params = {
        CallSid: 'CA' + '3'.repeat(32),
        CallStatus: 'ringing',
        Direction: 'inbound',
        From: '+79161234567',
        To: '+74951234567',
        Timestamp: rfc2822(Date.now()),
        SequenceNumber: '1',
        ...over,
      };
      return http('POST', twilioUrl(), {
        rawBody: new URLSearchParams(params).toString(),
        headers: { 'content-type': FORM, 'x-twilio-signature': twilioSignature(TWILIO_TOKEN, twilioUrl(), Object.entries(params)) },
      });
    };
    const zadarma = (form: Record<string, string>, signature?: string) =>
      http('POST', `${svc.url}/v1/webhooks/zadarma/${SITE}`, {
        rawBody: new URLSearchParams(form).toString(),
        headers: { 'content-type': FORM, Signature: signature ?? zadarmaSignature(ZADARMA_SECRET, zadarmaSignedString(form) ?? '') },
      });
    const mango = (kind: string, payload: object) => {
      const json = JSON.stringify(payload);
      return http('POST', `${svc.url}/v1/webhooks/mango/${SITE}/events/${kind}`, {
        rawBody: new URLSearchParams({ vpbx_api_key: MANGO_KEY, sign: mangoSign(MANGO_KEY, json, MANGO_SALT), json }).toString(),
        headers: { 'content-type': FORM },
      });
    };
    const telnyx = (body: object) => {
      const raw = JSON.stringify(body);
      const ts = String(Math.floor(Date.now() / 1000));
      const signature = sign(null, Buffer.from(`${ts}|${raw}`), telnyxKeys.privateKey).toString('base64');
      return http('POST', `${svc.url}/v1/webhooks/telnyx/${SITE}`, {
        rawBody: raw,
        headers: { 'content-type': 'application/json', 'telnyx-signature-ed25519': signature, 'telnyx-timestamp': ts },
      });
    };
    const telnyxBody = (id: string, session: string, payload: object, occurredAt = new Date().toISOString()) => ({
      data: {
        record_type: 'event',
        event_type: 'call.initiated',
        id,
        occurred_at: occurredAt,
        payload: { call_control_id: `v3:${session}`, call_session_id: session, from: '+79161234567', to: '+74951234567', direction: 'incoming', ...payload },
      },
    });
    const mangoSummary = (entry: string, over: object = {}) => {
      const t = Math.floor(Date.now() / 1000) - 60;
      return {
        entry_id: entry,
        call_direction: 1,
        from: { number: '79161234567' },
        to: { extension: '101' },
        line_number: '74951234567',
        create_time: t,
        talk_time: t + 5,
        end_time: t + 50,
        entry_result: 1,
        ...over,
      };
    };
    const zStart = (id: string, over: Record<string, string> = {}) => ({
      event: 'NOTIFY_START',
      call_start: moscow(Date.now() - 60_000),
      pbx_call_id: id,
      caller_id: '79161234567',
      called_did: '74951234567',
      ...over,
    });
    const zEnd = (start: Record<string, string>, over: Record<string, string> = {}) => ({
      ...start,
      event: 'NOTIFY_END',
      internal: '101',
      duration: '30',
      disposition: 'answered',
      status_code: '16',
      is_recorded: '0',
      call_id_with_rec: '',
      ...over,
    });
    const fields = (res: { body: { error?: { details?: Array<{ field: string }> } } }) => (res.body.error?.details ?? []).map((d) => d.field);
    /** Provider call ids this describe got refused: none may reach the calls topic. */
    const mine: string[] = [];

    it('refuses times out of range with 400 naming the field, in every adapter (year 9999, year 2001)', async () => {
      const y9999 = Date.UTC(9999, 0, 1);
      const y2001 = Date.UTC(2001, 0, 1);
      const tw = await twilio({ CallSid: 'CA' + '4'.repeat(32), Timestamp: rfc2822(y2001) });
      assert.deepEqual([tw.status, fields(tw)], [400, ['Timestamp']]);
      const zd = await zadarma(zStart('in_time_9999', { call_start: '9999-12-31 23:59:59' }));
      assert.deepEqual([zd.status, fields(zd)], [400, ['call_start']]);
      const zd2001 = await zadarma(zStart('in_time_2001', { call_start: '2001-03-01 13:00:00' }));
      assert.deepEqual([zd2001.status, fields(zd2001)], [400, ['call_start']]);
      const mg = await mango('summary', mangoSummary('dGltZS0yMDAx', { create_time: y2001 / 1000, talk_time: 0, end_time: y2001 / 1000 + 50 }));
      assert.deepEqual([mg.status, fields(mg).sort()], [400, ['json.create_time', 'json.end_time']]);
      const tx = await telnyx(telnyxBody('e-time', 'time-session-9999', {}, new Date(y9999).toISOString()));
      assert.deepEqual([tx.status, fields(tx)], [400, ['data.occurred_at']]);
      mine.push('CA' + '4'.repeat(32), 'in_time_9999', 'in_time_2001', 'dGltZS0yMDAx', 'time-session-9999');
    });

    it('refuses garbage callers with 400 naming the field, in every adapter; withheld callers are stored as withheld', async () => {
      for (const [i, garbage] of ['ABCDEFG', '1'.repeat(40), 'sip:evil@example.com'].entries()) {
        const tw = await twilio({ CallSid: 'CA' + String(i).repeat(32), From: garbage });
        assert.deepEqual([tw.status, fields(tw)], [400, ['From']], garbage);
        const zd = await zadarma(zStart(`in_garbage_${i}`, { caller_id: garbage }));
        assert.deepEqual([zd.status, fields(zd)], [400, ['caller_id']], garbage);
        const mg = await mango('summary', mangoSummary(`Z2FyYmFnZS0${i}`, { from: { number: garbage } }));
        assert.deepEqual([mg.status, fields(mg)], [400, ['json.from.number']], garbage);
        const tx = await telnyx(telnyxBody(`e-garbage-${i}`, `garbage-session-${i}`, { from: garbage }));
        assert.deepEqual([tx.status, fields(tx)], [400, ['data.payload.from']], garbage);
        mine.push('CA' + String(i).repeat(32), `in_garbage_${i}`, `Z2FyYmFnZS0${i}`, `garbage-session-${i}`);
      }
      const withheld = [
        await twilio({ CallSid: 'CA' + '5'.repeat(32), From: '+266696687' }),
        await zadarma(zStart('in_withheld', { caller_id: '' })),
        await mango('summary', mangoSummary('d2l0aGhlbGQ=', { from: { number: 'Anonymous' } })),
        await telnyx(telnyxBody('e-withheld', 'withheld-session', { from: 'sip:anonymous@anonymous.invalid' })),
      ];
      const ids = ['twilio:CA' + '5'.repeat(32), 'zadarma:in_withheld', 'mango:d2l0aGhlbGQ=', 'telnyx:withheld-session'];
      for (const [i, res] of withheld.entries()) {
        assert.equal(res.status, 200, JSON.stringify(res.body));
        const eventId = res.headers.get('x-calltrack-event-id') ?? res.body.eventId;
        const [event] = await reportsUntil(ids[i]!, eventId);
        assert.equal(event!.payload.callerNumber, '', ids[i]);
      }
    });

    it('refuses call ids outside the id rule with 400 naming the field; accepts UTF-8 ones', async () => {
      const long = await zadarma(zStart('x'.repeat(129)));
      assert.deepEqual([long.status, fields(long)], [400, ['pbx_call_id']]);
      const control = await telnyx(telnyxBody('e-ctl', 'ctl\u0001session', {}));
      assert.deepEqual([control.status, fields(control).sort()], [400, ['data.payload.call_control_id', 'data.payload.call_session_id']]);
      const spaced = await mango('summary', mangoSummary('has space'));
      assert.deepEqual([spaced.status, fields(spaced)], [400, ['json.entry_id']]);
      const emoji = await telnyx(telnyxBody('e-emoji', '😀', {}));
      assert.equal(emoji.status, 200, JSON.stringify(emoji.body));
      await reportsUntil('telnyx:😀', emoji.body.eventId);
      mine.push('x'.repeat(129), 'ctl\u0001session', 'has space');
    });

    it('Zadarma: a captured notification cannot mint a call, change an accepted end, or move a call to another caller', async () => {
      const start = zStart('in_guarded');
      const end = zEnd(start);
      const first = [await zadarma(start), await zadarma(end)];
      assert.deepEqual(
        first.map((r) => [r.status, r.headers.get('x-calltrack-outcome')]),
        [
          [200, 'published'],
          [200, 'published'],
        ],
      );
      const endEventId = first[1]!.headers.get('x-calltrack-event-id')!;
      guardedEnd = end;

      // The same signed fields under a new pbx_call_id: the signature already names in_guarded.
      const minted = await zadarma({ ...end, pbx_call_id: 'in_minted' });
      assert.deepEqual([minted.status, minted.body.error.code, fields(minted)], [409, 'conflicting_event', ['Signature']]);
      const mintedStart = await zadarma({ ...start, pbx_call_id: 'in_minted_2' });
      assert.deepEqual([mintedStart.status, fields(mintedStart)], [409, ['Signature']]);
      // The accepted end replayed with another disposition, a longer duration or an extra field: one end per call.
      for (const over of [{ disposition: 'busy' }, { duration: '45' }, { status_code: '17' }]) {
        const changed = await zadarma({ ...end, ...over });
        assert.deepEqual([changed.status, fields(changed)], [409, ['event']], JSON.stringify(over));
      }
      const extra = await zadarma({ ...end, internal: '102' });
      assert.equal(extra.status, 409);
      // Another call's captured notification (other caller, never seen here) posted under in_guarded.
      const other = zStart('in_guarded', { caller_id: '79160000000' });
      const moved = await zadarma(zEnd(other));
      assert.deepEqual([moved.status, fields(moved)], [409, ['caller_id']]);
      // Zadarma's own retry of the end is still a harmless duplicate.
      const retry = await zadarma(end);
      assert.deepEqual([retry.status, retry.headers.get('x-calltrack-outcome')], [200, 'duplicate']);

      const events = await reportsUntil('zadarma:in_guarded', endEventId);
      assert.equal(events.length, 2, 'the start and the end, nothing else');
      const last = numbers(events.at(-1)!);
      assert.deepEqual([last.status, last.callerNumber], [CallStatus.CALL_STATUS_COMPLETED, '+79161234567']);
      mine.push('in_minted', 'in_minted_2');
    });

    it('Zadarma: a signed call_start outside the replay window is refused with 401 stale_timestamp', async () => {
      const tolerance = config.WEBHOOK_TOLERANCE_SECONDS * 1000;
      const oldStart = await zadarma(zStart('in_stale_start', { call_start: moscow(Date.now() - tolerance - 120_000) }));
      assert.deepEqual([oldStart.status, oldStart.body.error.code], [401, 'stale_timestamp']);
      // Further ahead than EVENT_TIME_MAX_FUTURE_SECONDS: the time window every adapter applies answers first.
      const futureStart = await zadarma(zStart('in_future_start', { call_start: moscow(Date.now() + config.EVENT_TIME_MAX_FUTURE_SECONDS * 1000 + 120_000) }));
      assert.deepEqual([futureStart.status, fields(futureStart)], [400, ['call_start']]);
      const lateEnd = await zadarma(
        zEnd(zStart('in_stale_end', { call_start: moscow(Date.now() - config.ZADARMA_MAX_CALL_SECONDS * 1000 - tolerance - 120_000) })),
      );
      assert.deepEqual([lateEnd.status, lateEnd.body.error.code], [401, 'stale_timestamp']);
      const tooLong = await zadarma(zEnd(zStart('in_too_long'), { duration: '7200' }));
      assert.deepEqual([tooLong.status, tooLong.body.error.code], [401, 'stale_timestamp']);
      assert.match(tooLong.body.error.message, /duration 7200 s is longer/);
      // An end of a two-hour call, inside the window, is accepted.
      const longCall = await zadarma(zEnd(zStart('in_long_call', { call_start: moscow(Date.now() - 2 * 3600_000) }), { duration: '7000' }));
      assert.equal(longCall.status, 200);
      mine.push('in_stale_start', 'in_future_start', 'in_stale_end', 'in_too_long');
    });

    it('published nothing it refused, and counted the refusals by reason', async () => {
      const marker = await twilio({ CallSid: 'CA' + '6'.repeat(32) });
      assert.equal(marker.status, 200);
      assert.equal(marker.body.outcome, 'published', JSON.stringify(marker.body));
      await reportsUntil('twilio:CA' + '6'.repeat(32), marker.body.eventId);
      const published = new Set((probe.events('calls') as Array<DomainEvent<'CallReported'>>).map((e) => e.payload.providerCallId));
      assert.deepEqual(
        mine.filter((id) => published.has(id)),
        [],
      );
      const zd = (await stats(SITE)).providers.zadarma.rejected;
      assert.equal(zd.conflicting_event, 7);
      assert.equal(zd.stale_timestamp, 3);
      assert.equal(zd.invalid_payload, 1 + 2 + 3 + 1 + 1, 'earlier tests 1; times 2; callers 3; ids 1; too far ahead 1');
    });
  });

  describe('restart behind a proxy', () => {
    it('rebuilds provider credentials from Kafka and verifies Twilio against PUBLIC_BASE_URL', async () => {
      await svc.close();
      config = { ...config, PUBLIC_BASE_URL: 'https://hooks.example.com/calltrack' };
      svc = await startTelephonyIngest(config);
      const sid = 'CA' + 'f'.repeat(32);
      const params = {
        CallSid: sid,
        CallStatus: 'ringing',
        Direction: 'inbound',
        From: '+79161234567',
        To: '+74951234567',
        Timestamp: rfc2822(T0),
        SequenceNumber: '1',
      };
      const signature = twilioSignature(TWILIO_TOKEN, `https://hooks.example.com/calltrack/v1/webhooks/twilio/${SITE}`, Object.entries(params));
      const res = await http('POST', `${svc.url}/v1/webhooks/twilio/${SITE}`, {
        rawBody: new URLSearchParams(params).toString(),
        headers: { 'content-type': FORM, 'x-twilio-signature': signature },
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      await reportsUntil(`twilio:${sid}`, res.body.eventId);
      // Forwarded headers do not override the configured public URL.
      const spoofed = await http('POST', `${svc.url}/v1/webhooks/twilio/${SITE}`, {
        rawBody: new URLSearchParams(params).toString(),
        headers: {
          'content-type': FORM,
          'x-twilio-signature': twilioSignature(TWILIO_TOKEN, `https://evil.example/v1/webhooks/twilio/${SITE}`, Object.entries(params)),
          'x-forwarded-host': 'evil.example',
          'x-forwarded-proto': 'https',
        },
      });
      assert.equal(spoofed.status, 401);
      const mango = await http('POST', `${svc.url}/v1/webhooks/mango/${SITE}/events/recording`, {
        rawBody: new URLSearchParams({ vpbx_api_key: MANGO_KEY, sign: mangoSign(MANGO_KEY, '{}', MANGO_SALT), json: '{}' }).toString(),
        headers: { 'content-type': FORM },
      });
      assert.equal(mango.status, 200, 'Mango credentials replayed too');
    });
  });

  describe('Zadarma bindings after a restart', () => {
    it('are rebuilt from the calls topic: a replayed end under a new id, or a changed end, is still refused', async () => {
      await svc.close();
      svc = await startTelephonyIngest(config);
      await waitFor(async () => (await http('GET', `${svc.url}/readyz`)).status === 200, { what: 'telephony-ingest ready again' });
      const post = (form: Record<string, string>) =>
        http('POST', `${svc.url}/v1/webhooks/zadarma/${SITE}`, {
          rawBody: new URLSearchParams(form).toString(),
          headers: { 'content-type': FORM, Signature: zadarmaSignature(ZADARMA_SECRET, zadarmaSignedString(form)!) },
        });
      const end = guardedEnd!;
      const minted = await post({ ...end, pbx_call_id: 'in_minted_after_restart' });
      assert.deepEqual([minted.status, minted.body.error?.code], [409, 'conflicting_event']);
      const changed = await post({ ...end, disposition: 'busy' });
      assert.deepEqual([changed.status, changed.body.error?.details?.[0]?.field], [409, 'event']);
      const retry = await post(end);
      assert.equal(retry.status, 200, "Zadarma's own retry of the accepted end");
      refused.push('in_minted_after_restart');
    });
  });

  describe('source allowlists', () => {
    it('refuses Zadarma from outside its published addresses with 403 and accepts Mango from an allowed one', async () => {
      await svc.close();
      config = { ...config, ZADARMA_SOURCE_ADDRESSES: ['185.45.152.42'], MANGO_SOURCE_ADDRESSES: ['127.0.0.0/8', '::1/128'] };
      svc = await startTelephonyIngest(config);
      await waitFor(async () => (await http('GET', `${svc.url}/readyz`)).status === 200, { what: 'telephony-ingest ready again' });
      const form = {
        event: 'NOTIFY_START',
        call_start: moscow(Date.now()),
        pbx_call_id: 'in_from_elsewhere',
        caller_id: '79161234567',
        called_did: '74951234567',
      };
      const zd = await http('POST', `${svc.url}/v1/webhooks/zadarma/${SITE}`, {
        rawBody: new URLSearchParams(form).toString(),
        headers: { 'content-type': FORM, Signature: zadarmaSignature(ZADARMA_SECRET, zadarmaSignedString(form)!) },
      });
      assert.deepEqual([zd.status, zd.body.error.code], [403, 'source_not_allowed']);
      const t = Math.floor(Date.now() / 1000) - 60;
      const json = JSON.stringify({
        entry_id: 'YWxsb3dlZA==',
        call_direction: 1,
        from: { number: '79161234567' },
        to: { extension: '101' },
        line_number: '74951234567',
        create_time: t,
        end_time: t + 20,
        entry_result: 0,
      });
      const mg = await http('POST', `${svc.url}/v1/webhooks/mango/${SITE}/events/summary`, {
        rawBody: new URLSearchParams({ vpbx_api_key: MANGO_KEY, sign: mangoSign(MANGO_KEY, json, MANGO_SALT), json }).toString(),
        headers: { 'content-type': FORM },
      });
      assert.equal(mg.status, 200, JSON.stringify(mg.body));
      assert.equal((await stats(SITE)).providers.zadarma.rejected.source_not_allowed, 1);
    });
  });
});
