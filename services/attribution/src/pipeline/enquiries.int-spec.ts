// Enquiries and leads end to end on the real broker and the embedded ClickHouse engine:
// an enquiry matched to its session and channel, a duplicate changing nothing, a form
// and a call of one person as one lead (also when the form arrives after the call), and
// the list endpoints' answers to bad input.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { calltrack, callKey, createEvent, enquiryKey, siteKey, visitorKey, type DomainEvent, type EventInput, type TopicKey } from '@calltrack/contracts';
import type { ClickHouse } from '@calltrack/clickhouse';
import { KafkaBus } from '@calltrack/kafka';
import type { RunningService } from '@calltrack/service-kit';
import { createKafkaTestEnv, http, testLogger, waitFor, type KafkaTestEnv } from '@calltrack/testing';
import { startAttributionForTest, TEST_ADMIN_TOKEN } from '../attribution.fixture.js';

const { CallStatus, CallDirection, Verdict, EnquiryKind } = calltrack.events.v1;
const ADMIN = TEST_ADMIN_TOKEN;
const auth = { authorization: `Bearer ${ADMIN}` };
const SITE = 'forms';
const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const DEFAULT_NUMBER = '+74950000000';
const POOL = '+74951000001';

type Row = Record<string, unknown>;

process.env['CLICKHOUSE_DATA_DIR'] ??= mkdtempSync(join(tmpdir(), 'calltrack-chdb-'));

describe('enquiries and leads on the real broker and the embedded ClickHouse engine', () => {
  let env: KafkaTestEnv;
  let bus: KafkaBus;
  let service: RunningService;
  let ch: ClickHouse;
  const database = `enq_${randomUUID().slice(0, 8)}`;
  const T = Date.now() - 3 * DAY;

  const send = (topic: TopicKey, key: string, event: DomainEvent) => bus.producer.publish(topic, key, event);
  const visit = (sessionId: string, visitorId: string, startedAtMs: number, origin: calltrack.events.v1.IVisitOrigin = {}) =>
    send(
      'sessions',
      visitorKey(SITE, visitorId),
      createEvent('SessionStarted', { sessionId, visitorId, startedAtMs, userAgent: 'Mozilla/5.0', origin }, { siteId: SITE, producer: 'test' }),
    );
  const enquiryEvent = (enquiryId: string, p: Partial<EventInput<'EnquiryReceived'>>, eventId = `enq-${enquiryId}`) =>
    createEvent(
      'EnquiryReceived',
      { enquiryId, kind: EnquiryKind.ENQUIRY_KIND_FORM, receivedAtMs: Date.now(), ...p },
      { siteId: SITE, producer: 'test', eventId, occurredAtMs: Number(p.occurredAtMs) },
    );
  const sendEnquiry = (e: DomainEvent<'EnquiryReceived'>) => send('enquiries', enquiryKey(SITE, e.payload.enquiryId), e);
  const sendCall = (callId: string, from: string, at: number, to = DEFAULT_NUMBER) =>
    send(
      'screenedCalls',
      callKey(SITE, callId),
      createEvent(
        'CallScreened',
        {
          call: {
            callId,
            provider: 'generic',
            providerCallId: callId,
            trackingNumber: to,
            callerNumber: from,
            direction: CallDirection.CALL_DIRECTION_INBOUND,
            status: CallStatus.CALL_STATUS_COMPLETED,
            startedAtMs: at,
            answeredAtMs: at + 5000,
            endedAtMs: at + 125_000,
            sequence: 3,
          },
          verdict: Verdict.VERDICT_CLEAN,
        },
        { siteId: SITE, producer: 'test' },
      ),
    );
  const enquiryRow = (enquiryId: string, pred: (r: Row) => boolean = () => true) =>
    waitFor(
      async () => {
        const rows = await ch.query<Row>(`SELECT * EXCEPT (ingested_at) FROM enquiries FINAL WHERE site_id = {s:String} AND enquiry_id = {e:String}`, {
          s: SITE,
          e: enquiryId,
        });
        return rows[0] && pred(rows[0]) ? rows[0] : undefined;
      },
      { what: `enquiry ${enquiryId}`, timeoutMs: 30_000 },
    );
  const callRow = (callId: string, pred: (r: Row) => boolean = () => true) =>
    waitFor(
      async () => {
        const rows = await ch.query<Row>(
          `SELECT call_id, lead_id, visitor_id, match_method FROM calls FINAL WHERE site_id = {s:String} AND call_id = {c:String}`,
          { s: SITE, c: callId },
        );
        return rows[0] && pred(rows[0]) ? rows[0] : undefined;
      },
      { what: `call ${callId}`, timeoutMs: 30_000 },
    );
  const leadRow = (leadId: string, pred: (r: Row) => boolean = () => true) =>
    waitFor(
      async () => {
        const rows = await ch.query<Row>(`SELECT * EXCEPT (ingested_at, version) FROM leads FINAL WHERE site_id = {s:String} AND lead_id = {l:String}`, {
          s: SITE,
          l: leadId,
        });
        return rows[0] && pred(rows[0]) ? rows[0] : undefined;
      },
      { what: `lead ${leadId}`, timeoutMs: 30_000 },
    );

  before(async () => {
    env = await createKafkaTestEnv('enquiries');
    bus = new KafkaBus({ ...env.settings, clientId: 'enquiries-test' }, testLogger);
    await bus.connect();
    await send(
      'sites',
      siteKey(SITE),
      createEvent(
        'SiteConfigured',
        { name: SITE, country: 'RU', timeZone: 'Europe/Moscow', defaultNumber: DEFAULT_NUMBER, poolNumbers: [POOL] },
        { siteId: SITE, producer: 'test' },
      ),
    );
    ({ service, ch } = await startAttributionForTest(env, database, { ATTRIBUTION_STATE_WAIT_MS: '3000' }));
  });

  after(async () => {
    await service?.close();
    await ch?.close();
    await bus?.close();
  });

  it("matches a form to the session it names: that visit's channel and tags, credits per model", async () => {
    await visit('s-organic', 'v-anna', T - 5 * DAY, { utm: { source: 'google', medium: 'organic' }, referrer: 'https://www.google.com/' });
    await visit('s-cpc', 'v-anna', T, {
      utm: { source: 'google', medium: 'cpc', campaign: 'sofas', term: 'buy sofa' },
      landingPage: 'https://forms.example/sofas',
    });
    await sendEnquiry(
      enquiryEvent('form-1', {
        occurredAtMs: T + 10 * MIN,
        sessionId: 's-cpc',
        visitorId: 'v-anna',
        contactPhone: '+79160000001',
        contactEmail: 'anna@example.com',
      }),
    );
    const row = await enquiryRow('form-1');
    assert.equal(row['match_method'], 'session');
    assert.equal(row['match_reason'], 'session_id');
    assert.equal(Number(row['match_confidence']), 1);
    assert.equal(row['session_id'], 's-cpc');
    assert.equal(row['channel'], 'paid_search');
    assert.equal(row['utm_term'], 'buy sofa');
    assert.equal(row['contact_type'], 'first');
    assert.equal(row['lead_id'], 'enquiry:form-1');
    assert.equal(row['kind'], 'form');
    const credits = await ch.query<{ model: string; session_id: string; credit: number }>(
      `SELECT model, session_id, round(credit, 6) AS credit FROM attribution_credits FINAL WHERE site_id = {s:String}
         AND call_id = 'enquiry:form-1' AND conversion_kind = 'enquiry' ORDER BY model, session_id`,
      { s: SITE },
    );
    const of = (model: string) => credits.filter((c) => c.model === model).map((c) => [c.session_id, Number(c.credit)]);
    assert.deepEqual(of('last_non_direct_click'), [['s-cpc', 1]]);
    assert.deepEqual(of('first_click'), [['s-organic', 1]]);
    assert.deepEqual(of('linear'), [
      ['s-cpc', 0.5],
      ['s-organic', 0.5],
    ]);
  });

  it('a duplicate enquiry id changes nothing, even with another body', async () => {
    const before = await enquiryRow('form-1');
    const count = async () =>
      Number((await ch.query<{ n: string }>(`SELECT count() AS n FROM enquiries WHERE site_id = {s:String} AND enquiry_id = 'form-1'`, { s: SITE }))[0]?.n);
    const rowsBefore = await count();
    await sendEnquiry(enquiryEvent('form-1', { occurredAtMs: T + 10 * MIN, contactPhone: '+79169999999' }));
    // A marker enquiry after it on the same partition-independent path: once it is stored, the duplicate was handled.
    await sendEnquiry(enquiryEvent('form-marker', { occurredAtMs: T + 11 * MIN, contactEmail: 'm@example.com' }));
    await enquiryRow('form-marker');
    await new Promise((r) => setTimeout(r, 1500));
    assert.deepEqual(await enquiryRow('form-1'), before);
    assert.equal(await count(), rowsBefore);
  });

  it("a form, then a call from its phone: one lead with one enquiry and one target call, the form's source", async () => {
    await sendCall('generic:call-after-form', '+79160000001', T + 2 * HOUR);
    const call = await callRow('generic:call-after-form', (r) => r['lead_id'] === 'enquiry:form-1');
    assert.equal(call['lead_id'], 'enquiry:form-1');
    const lead = await leadRow('enquiry:form-1', (r) => Number(r['calls']) === 1);
    assert.deepEqual(
      {
        person: lead['person_key'],
        kind: lead['first_contact_kind'],
        calls: Number(lead['calls']),
        target: Number(lead['target_calls']),
        enquiries: Number(lead['enquiries']),
        channel: lead['channel'],
        term: lead['utm_term'],
        visitor: lead['visitor_id'],
      },
      { person: 'phone:+79160000001', kind: 'enquiry', calls: 1, target: 1, enquiries: 1, channel: 'paid_search', term: 'buy sofa', visitor: 'v-anna' },
    );
  });

  it("a call, then a late form of the same phone sent before it: the call moves to the form's lead, the call's lead is retracted", async () => {
    await sendCall('generic:call-first', '+79160000002', T + DAY + HOUR);
    await callRow('generic:call-first', (r) => r['lead_id'] === 'generic:call-first');
    await leadRow('generic:call-first');
    await sendEnquiry(enquiryEvent('callback-early', { kind: EnquiryKind.ENQUIRY_KIND_CALLBACK_REQUEST, occurredAtMs: T + DAY, contactPhone: '+79160000002' }));
    await callRow('generic:call-first', (r) => r['lead_id'] === 'enquiry:callback-early');
    const lead = await leadRow('enquiry:callback-early', (r) => Number(r['calls']) === 1);
    assert.equal(Number(lead['enquiries']), 1);
    assert.equal(lead['first_contact_kind'], 'enquiry');
    const gone = await ch.query<Row>(`SELECT lead_id FROM leads FINAL WHERE site_id = {s:String} AND lead_id = 'generic:call-first'`, { s: SITE });
    assert.deepEqual(gone, []);
  });

  it("a call, then a form from the same phone a few seconds later, both sent at once: the form joins the call's lead", async () => {
    const at = T + DAY + 5 * HOUR;
    await Promise.all([
      sendCall('generic:call-then-form', '+79160000007', at),
      sendEnquiry(enquiryEvent('form-after-call', { occurredAtMs: at + 3_000, contactPhone: '+79160000007' })),
    ]);
    await callRow('generic:call-then-form', (r) => r['lead_id'] === 'generic:call-then-form');
    const form = await enquiryRow('form-after-call', (r) => r['lead_id'] === 'generic:call-then-form');
    assert.equal(form['contact_type'], 'repeat');
    const lead = await leadRow('generic:call-then-form', (r) => Number(r['enquiries']) === 1);
    assert.equal(Number(lead['calls']), 1);
  });

  it('a spam call to the number a visitor was shown is no part of their lead, and has none', async () => {
    const at = T + 2 * DAY + 6 * HOUR;
    await visit('s-dora', 'v-dora', at, { utm: { source: 'google', medium: 'cpc' } });
    await send(
      'poolEvents',
      siteKey(SITE),
      createEvent(
        'LeaseGranted',
        { requestId: 'l-dora', leaseId: 'l-dora', sessionId: 's-dora', visitorId: 'v-dora', trackingNumber: POOL, grantedAtMs: at, expiresAtMs: at + 15 * MIN },
        { siteId: SITE, producer: 'test' },
      ),
    );
    await sendEnquiry(enquiryEvent('form-dora', { occurredAtMs: at + MIN, sessionId: 's-dora', visitorId: 'v-dora', contactPhone: '+79160000008' }));
    await enquiryRow('form-dora');
    const spam = createEvent(
      'CallScreened',
      {
        call: {
          callId: 'generic:spam-dora',
          provider: 'generic',
          providerCallId: 'spam-dora',
          trackingNumber: POOL,
          callerNumber: '+79990000001',
          direction: CallDirection.CALL_DIRECTION_INBOUND,
          status: CallStatus.CALL_STATUS_COMPLETED,
          startedAtMs: at + 2 * MIN,
          answeredAtMs: at + 2 * MIN + 3000,
          endedAtMs: at + 3 * MIN,
          sequence: 3,
        },
        verdict: Verdict.VERDICT_SPAM,
      },
      { siteId: SITE, producer: 'test' },
    );
    await send('screenedCalls', callKey(SITE, 'generic:spam-dora'), spam);
    const row = await callRow('generic:spam-dora');
    assert.deepEqual([row['match_method'], row['visitor_id'], row['lead_id']], ['dynamic', 'v-dora', '']);
    await new Promise((r) => setTimeout(r, 1000));
    const lead = await leadRow('enquiry:form-dora');
    assert.deepEqual([Number(lead['calls']), Number(lead['enquiries'])], [0, 1]);
    assert.equal((await enquiryRow('form-dora'))['lead_id'], 'enquiry:form-dora');
  });

  it("a visitor's calls from two numbers are one lead, whichever arrives first: the later one is moved when the earlier lands", async () => {
    const at = T + 2 * DAY + 9 * HOUR;
    await visit('s-erik', 'v-erik', at, { utm: { source: 'yandex', medium: 'cpc' } });
    await send(
      'poolEvents',
      siteKey(SITE),
      createEvent(
        'LeaseGranted',
        { requestId: 'l-erik', leaseId: 'l-erik', sessionId: 's-erik', visitorId: 'v-erik', trackingNumber: POOL, grantedAtMs: at, expiresAtMs: at + 30 * MIN },
        { siteId: SITE, producer: 'test' },
      ),
    );
    // The office call (ten minutes after the mobile one) reaches attribution first.
    await sendCall('generic:erik-office', '+74997770011', at + 12 * MIN, POOL);
    const office = await callRow('generic:erik-office', (r) => r['lead_id'] === 'generic:erik-office');
    assert.equal(office['visitor_id'], 'v-erik');
    await leadRow('generic:erik-office');
    await sendCall('generic:erik-mobile', '+79160000011', at + 2 * MIN, POOL);
    await callRow('generic:erik-mobile', (r) => r['lead_id'] === 'generic:erik-mobile');
    await callRow('generic:erik-office', (r) => r['lead_id'] === 'generic:erik-mobile');
    const lead = await leadRow('generic:erik-mobile', (r) => Number(r['calls']) === 2);
    assert.equal(Number(lead['enquiries']), 0);
    const gone = await ch.query<Row>(`SELECT lead_id FROM leads FINAL WHERE site_id = {s:String} AND lead_id = 'generic:erik-office'`, { s: SITE });
    assert.deepEqual(gone, [], "the office call's own lead is retracted");
  });

  it('matches by visitor (latest visit), by phone (repeat contact) and leaves the rest unmatched with the reason', async () => {
    await visit('s-email', 'v-boris', T + 2 * DAY, { utm: { source: 'newsletter', medium: 'email' } });
    // A chat names no session, so nothing waits for the visit: it is stored first, as a tracker's session start would be.
    await waitFor(
      async () =>
        Number((await ch.query<{ n: string }>(`SELECT count() AS n FROM visits WHERE site_id = {s:String} AND session_id = 's-email'`, { s: SITE }))[0]?.n) > 0,
      { what: 'the visit s-email stored' },
    );
    await sendEnquiry(enquiryEvent('chat-boris', { kind: EnquiryKind.ENQUIRY_KIND_CHAT, occurredAtMs: T + 2 * DAY + HOUR, visitorId: 'v-boris' }));
    await sendEnquiry(enquiryEvent('form-anna-2', { occurredAtMs: T + 2 * DAY + 2 * HOUR, contactPhone: '+79160000001' }));
    await sendEnquiry(enquiryEvent('form-nobody', { occurredAtMs: T + 2 * DAY + 3 * HOUR, contactEmail: 'x@example.com' }));
    const chat = await enquiryRow('chat-boris');
    assert.deepEqual(
      [chat['match_method'], chat['match_reason'], chat['session_id'], chat['channel']],
      ['visitor', 'visitor_latest_visit', 's-email', 'email'],
    );
    const anna = await enquiryRow('form-anna-2');
    assert.equal(anna['match_method'], 'repeat_contact');
    assert.equal(anna['visitor_id'], 'v-anna');
    assert.equal(anna['contact_type'], 'repeat');
    const nobody = await enquiryRow('form-nobody');
    assert.deepEqual([nobody['match_method'], nobody['match_reason'], Number(nobody['match_confidence'])], ['unmatched', 'no_identifiers', 0]);
  });

  it('lists enquiries and leads over a range; refuses a bad range, a bad limit and no token', async () => {
    const from = new Date(T - DAY).toISOString();
    const to = new Date(T + 4 * DAY).toISOString();
    const list = await http('GET', `${service.url}/v1/sites/${SITE}/enquiries?from=${from}&to=${to}`, { headers: auth });
    assert.equal(list.status, 200);
    assert.ok((list.body.enquiries as Row[]).some((e) => e['enquiry_id'] === 'form-1' && e['channel'] === 'paid_search'));
    const leads = await http('GET', `${service.url}/v1/sites/${SITE}/leads?from=${from}&to=${to}&limit=50`, { headers: auth });
    assert.equal(leads.status, 200);
    const form1 = (leads.body.leads as Row[]).find((l) => l['leadId'] === 'enquiry:form-1');
    assert.ok(form1);
    assert.ok(Number(form1['enquiries']) >= 1 && Number(form1['calls']) === 1);
    const bad = await http('GET', `${service.url}/v1/sites/${SITE}/leads?from=${to}&to=${from}`, { headers: auth });
    assert.equal(bad.status, 400);
    assert.match(bad.body.error.message, /from/);
    const limit = await http('GET', `${service.url}/v1/sites/${SITE}/enquiries?limit=0`, { headers: auth });
    assert.equal(limit.status, 400);
    assert.match(limit.body.error.message, /limit/);
    assert.equal((await http('GET', `${service.url}/v1/sites/${SITE}/enquiries`)).status, 401);
  });
  it("a settings change recomputes the enquiries too: a 1-day lookback drops the organic visit of five days before from the form's path", async () => {
    const put = await http('PUT', `${service.url}/v1/admin/sites/${SITE}/attribution-settings`, {
      headers: { ...auth, 'x-operator': 'test' },
      body: { lookbackDays: 1 },
    });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    const job = await waitFor(
      async () => {
        const r = await http('GET', `${service.url}/v1/admin/sites/${SITE}/attribution/recompute/${put.body.recompute.jobId}`, { headers: auth });
        return r.body?.status === 'done' ? r.body : undefined;
      },
      { what: 'recompute done', timeoutMs: 60_000 },
    );
    const stored = Number((await ch.query<{ n: string }>(`SELECT count() AS n FROM enquiries FINAL WHERE site_id = {s:String}`, { s: SITE }))[0]?.n);
    assert.equal(job.enquiries, stored, 'every enquiry of the site was evaluated again');
    assert.ok(job.changedEnquiries >= 1);
    const row = await enquiryRow('form-1', (r) => Number(r['settings_revision']) === put.body.revision);
    assert.equal(row['session_id'], 's-cpc');
    const linear = await ch.query<{ session_id: string; credit: number }>(
      `SELECT session_id, round(credit, 6) AS credit FROM attribution_credits FINAL WHERE site_id = {s:String} AND call_id = 'enquiry:form-1'
         AND model = 'linear' ORDER BY session_id`,
      { s: SITE },
    );
    assert.deepEqual(
      linear.map((c) => [c.session_id, Number(c.credit)]),
      [['s-cpc', 1]],
    );
  });
});
