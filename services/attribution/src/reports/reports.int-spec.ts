// The reports on the real broker and the embedded ClickHouse engine, over a small history
// whose every figure is counted by hand below: three visitors on Monday 5 October 2026
// (Moscow), four counted calls (a target call from paid search after an organic visit, a
// missed call from another campaign, a static-number call, an unmatched call) and a spam
// call, a bot's visit, ad costs and a deal's revenue; plus the imports' and reports' answers to bad input.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { calltrack, callKey, createEvent, enquiryKey, siteKey, visitorKey, type DomainEvent, type TopicKey } from '@calltrack/contracts';
import type { ClickHouse } from '@calltrack/clickhouse';
import { KafkaBus } from '@calltrack/kafka';
import type { RunningService } from '@calltrack/service-kit';
import { createKafkaTestEnv, http, testLogger, waitFor, type KafkaTestEnv } from '@calltrack/testing';
import { startAttributionForTest, TEST_ADMIN_TOKEN } from '../attribution.fixture.js';

const { CallStatus, CallDirection, Verdict, EnquiryKind } = calltrack.events.v1;
const ADMIN = TEST_ADMIN_TOKEN;
const auth = { authorization: `Bearer ${ADMIN}` };
const SITE = 'rep';
const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const DEFAULT_NUMBER = '+74950000000';
const STATIC_NUMBER = '+74957770000';
const P1 = '+74951000001';
const P2 = '+74951000002';
// Monday 5 October 2026, 10:00 in Moscow (UTC+3).
const T = Date.parse('2026-10-05T07:00:00Z');
const RANGE = `from=${encodeURIComponent('2026-10-05T00:00:00+03:00')}&to=${encodeURIComponent('2026-10-08T00:00:00+03:00')}`;
const CHROME_WINDOWS = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const IPHONE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';

type Row = Record<string, unknown>;

process.env['CLICKHOUSE_DATA_DIR'] ??= mkdtempSync(join(tmpdir(), 'calltrack-chdb-'));

describe('reports on the real broker and the embedded ClickHouse engine', () => {
  let env: KafkaTestEnv;
  let bus: KafkaBus;
  let service: RunningService;
  let ch: ClickHouse;
  const database = `reports_${randomUUID().slice(0, 8)}`;

  const send = (topic: TopicKey, key: string, event: DomainEvent) => bus.producer.publish(topic, key, event);
  const visit = (
    sessionId: string,
    visitorId: string,
    startedAtMs: number,
    { userAgent, clientIp, ...origin }: calltrack.events.v1.IVisitOrigin & { userAgent: string; clientIp: string },
  ) => createEvent('SessionStarted', { sessionId, visitorId, startedAtMs, userAgent, clientIp, origin }, { siteId: SITE, producer: 'test' });
  const grant = (leaseId: string, sessionId: string, visitorId: string, trackingNumber: string, grantedAtMs: number) =>
    send(
      'poolEvents',
      siteKey(SITE),
      createEvent(
        'LeaseGranted',
        { requestId: leaseId, leaseId, sessionId, visitorId, trackingNumber, grantedAtMs, expiresAtMs: grantedAtMs + 15 * MIN },
        { siteId: SITE, producer: 'test' },
      ),
    );
  const call = (callId: string, o: { to: string; from: string; at: number; talk?: number; missed?: boolean; spam?: boolean }) =>
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
            trackingNumber: o.to,
            callerNumber: o.from,
            direction: CallDirection.CALL_DIRECTION_INBOUND,
            status: o.missed ? CallStatus.CALL_STATUS_MISSED : CallStatus.CALL_STATUS_COMPLETED,
            startedAtMs: o.at,
            answeredAtMs: o.missed ? 0 : o.at + 5_000,
            endedAtMs: o.missed ? o.at + 25_000 : o.at + 5_000 + (o.talk ?? 60) * 1000,
            sequence: 3,
          },
          verdict: o.spam ? Verdict.VERDICT_SPAM : Verdict.VERDICT_CLEAN,
        },
        { siteId: SITE, producer: 'test' },
      ),
    );
  const get = (path: string) => http('GET', `${service.url}/v1/sites/${SITE}/${path}`, { headers: auth });
  const admin = (method: string, path: string, body?: unknown, headers: Record<string, string> = auth) =>
    http(method, `${service.url}/v1/admin/sites/${path}`, { headers, ...(body === undefined ? {} : { body }) });
  type ReportRow = { key: Record<string, string>; [field: string]: unknown };
  const rowOf = (rows: ReportRow[], key: Record<string, string>): ReportRow | undefined => rows.find((r) => JSON.stringify(r.key) === JSON.stringify(key));

  let staticChannel = '';

  before(async () => {
    env = await createKafkaTestEnv('reports');
    bus = new KafkaBus({ ...env.settings, clientId: 'reports-test' }, testLogger);
    await bus.connect();
    await send(
      'sites',
      siteKey(SITE),
      createEvent(
        'SiteConfigured',
        {
          name: SITE,
          country: 'RU',
          timeZone: 'Europe/Moscow',
          defaultNumber: DEFAULT_NUMBER,
          poolNumbers: [P1, P2],
          staticNumbers: [{ number: STATIC_NUMBER, utmSource: 'billboard', utmMedium: 'offline', utmCampaign: 'ring-road' }],
        },
        { siteId: SITE, producer: 'test' },
      ),
    );
    ({ service, ch } = await startAttributionForTest(env, database));
    await waitFor(async () => (await admin('GET', `${SITE}/attribution-settings`)).status === 200, { what: 'the site to reach attribution' });

    // Anna: organic the day before, then the sofa ad; calls from the number it showed and talks a minute.
    await send(
      'sessions',
      visitorKey(SITE, 'v-anna'),
      visit('s-a1', 'v-anna', T - DAY, {
        referrer: 'https://www.google.com/',
        landingPage: 'https://rep.example/',
        userAgent: CHROME_WINDOWS,
        clientIp: '77.88.55.80',
      }),
    );
    const sofas = visit('s-a2', 'v-anna', T, {
      utm: { source: 'google', medium: 'cpc', campaign: 'sofas', term: 'buy sofa' },
      landingPage: 'https://rep.example/sofas?utm_source=google&utm_medium=cpc&gclid=abc',
      clickIds: { gclid: 'abc' },
      userAgent: CHROME_WINDOWS,
      clientIp: '77.88.55.80',
    });
    await send('sessions', visitorKey(SITE, 'v-anna'), sofas);
    // The same visit again (a replay): counted once everywhere.
    await send('sessions', visitorKey(SITE, 'v-anna'), sofas);
    await grant('l-a2', 's-a2', 'v-anna', P1, T);
    // Boris on a phone in Omsk: the bed ad, a call nobody answers and nobody returns.
    await send(
      'sessions',
      visitorKey(SITE, 'v-boris'),
      visit('s-b1', 'v-boris', T + HOUR, {
        utm: { source: 'yandex', medium: 'cpc', campaign: 'beds', term: 'bed' },
        landingPage: 'https://rep.example/beds',
        userAgent: IPHONE,
        clientIp: '2.60.0.1',
      }),
    );
    await grant('l-b1', 's-b1', 'v-boris', P2, T + HOUR);
    // Carl types the address; no call, but a callback request from the page (passed on by the site's backend).
    await send(
      'sessions',
      visitorKey(SITE, 'v-carl'),
      visit('s-c1', 'v-carl', T + 2 * HOUR, { landingPage: 'https://rep.example/', userAgent: CHROME_WINDOWS, clientIp: '8.8.8.8' }),
    );
    // A bot through the sofa ad, judged by antifraud after its visit is stored: in no report's visits.
    await send(
      'sessions',
      visitorKey(SITE, 'v-bot'),
      visit('s-bot', 'v-bot', T + 30 * MIN, {
        utm: { source: 'google', medium: 'cpc', campaign: 'sofas', term: 'buy sofa' },
        landingPage: 'https://rep.example/sofas',
        userAgent: CHROME_WINDOWS,
        clientIp: '5.5.5.5',
      }),
    );
    await waitFor(
      async () => Number((await ch.query<{ n: string }>(`SELECT count() AS n FROM visits FINAL WHERE site_id = {s:String}`, { s: SITE }))[0]?.n) === 5,
      { what: 'five visits stored' },
    );
    await send(
      'antifraudVerdicts',
      visitorKey(SITE, 'v-bot'),
      createEvent(
        'SessionScreened',
        { sessionId: 's-bot', visitorId: 'v-bot', verdict: Verdict.VERDICT_BOT, reason: 'bot user agent' },
        { siteId: SITE, producer: 'test' },
      ),
    );
    await waitFor(
      async () =>
        Number(
          (await ch.query<{ n: string }>(`SELECT count() AS n FROM session_verdicts FINAL WHERE site_id = {s:String} AND verdict = 'bot'`, { s: SITE }))[0]?.n,
        ) === 1,
      { what: 'the bot verdict stored' },
    );
    await send(
      'enquiries',
      enquiryKey(SITE, 'form-carl'),
      createEvent(
        'EnquiryReceived',
        {
          enquiryId: 'form-carl',
          kind: EnquiryKind.ENQUIRY_KIND_CALLBACK_REQUEST,
          occurredAtMs: T + 2 * HOUR + 5 * MIN,
          receivedAtMs: T + 2 * HOUR + 5 * MIN,
          sessionId: 's-c1',
          visitorId: 'v-carl',
          contactPhone: '+79160000009',
        },
        { siteId: SITE, producer: 'test', occurredAtMs: T + 2 * HOUR + 5 * MIN },
      ),
    );
    await waitFor(async () => (await get(`enquiries?${RANGE}`)).body?.enquiries?.length === 1, { what: "Carl's callback request stored" });

    await call('generic:c-a', { to: P1, from: '+79160000001', at: T + 5 * MIN, talk: 60 });
    await call('generic:c-b', { to: P2, from: '+79160000002', at: T + HOUR + 2 * MIN, missed: true });
    await call('generic:c-s', { to: STATIC_NUMBER, from: '+79160000003', at: T + 3 * HOUR, talk: 20 });
    await call('generic:c-u', { to: DEFAULT_NUMBER, from: '+79160000004', at: T + 4 * HOUR, talk: 45 });
    await call('generic:c-spam', { to: P1, from: '+79160000005', at: T + 5 * HOUR, spam: true });
    const calls = await waitFor(
      async () => {
        const r = await get(`calls?${RANGE}`);
        return r.status === 200 && (r.body.calls as Row[]).filter((c) => c['is_final']).length === 5 ? (r.body.calls as Row[]) : undefined;
      },
      { what: 'five calls stored', timeoutMs: 30_000 },
    );
    const byId = new Map(calls.map((c) => [c['call_id'], c]));
    assert.equal(byId.get('generic:c-a')!['session_id'], 's-a2');
    assert.equal(byId.get('generic:c-b')!['session_id'], 's-b1');
    assert.equal(byId.get('generic:c-s')!['match_method'], 'static');
    assert.equal(byId.get('generic:c-u')!['match_method'], 'unmatched');
    staticChannel = String(byId.get('generic:c-s')!['channel']);
    assert.ok(staticChannel, 'the static number gives its call a channel');

    const imported = await admin('POST', `${SITE}/ad-costs`, {
      importId: 'oct-5',
      currency: 'RUB',
      rows: [
        { day: '2026-10-05', source: 'google', medium: 'cpc', campaign: 'sofas', keyword: 'buy sofa', cost: 1000, clicks: 50, impressions: 1000 },
        { day: '2026-10-05', source: 'yandex', medium: 'cpc', campaign: 'beds', keyword: 'bed', cost: 500, clicks: 20, impressions: 400 },
        // Outside the range: not counted.
        { day: '2026-10-04', source: 'google', medium: 'cpc', campaign: 'sofas', keyword: 'buy sofa', cost: 999, clicks: 10, impressions: 100 },
      ],
    });
    assert.equal(imported.status, 202, JSON.stringify(imported.body));
    assert.deepEqual({ rows: imported.body.rows, from: imported.body.from, to: imported.body.to }, { rows: 3, from: '2026-10-04', to: '2026-10-05' });
    const deal = await admin('PUT', `${SITE}/revenue/${encodeURIComponent('generic:c-a')}`, { amount: 5000, currency: 'RUB', dealId: 'crm-1' });
    assert.equal(deal.status, 200, JSON.stringify(deal.body));
    assert.equal((await admin('PUT', `${SITE}/revenue/${encodeURIComponent('enquiry:form-carl')}`, { amount: 700, currency: 'RUB' })).status, 200);
    await waitFor(async () => (await admin('GET', `${SITE}/ad-costs?from=2026-10-01&to=2026-10-31`)).body?.rows?.length === 3, { what: 'ad costs projected' });
  });

  after(async () => {
    await service?.close();
    await ch?.close();
    await bus?.close();
  });

  it('(a) by source down to keyword: visits, calls credited under the model, unique, target and missed calls, cost, revenue, ROMI', async () => {
    const r = await get(`reports/sources?${RANGE}&level=keyword`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.model, 'last_non_direct_click');
    assert.equal(r.body.timeZone, 'Europe/Moscow');
    const sofas = rowOf(r.body.rows, { channel: 'paid_search', utm_source: 'google', utm_medium: 'cpc', utm_campaign: 'sofas', utm_term: 'buy sofa' });
    assert.deepEqual(sofas, {
      key: { channel: 'paid_search', utm_source: 'google', utm_medium: 'cpc', utm_campaign: 'sofas', utm_term: 'buy sofa' },
      visits: 1,
      visitors: 1,
      calls: 1,
      enquiries: 0,
      uniqueCallers: 1,
      firstCalls: 1,
      targetCalls: 1,
      missedCalls: 0,
      conversionRate: 1,
      cost: 1000,
      clicks: 50,
      impressions: 1000,
      costPerCall: 1000,
      costPerTargetCall: 1000,
      revenue: 5000,
      romi: 4,
    });
    const beds = rowOf(r.body.rows, { channel: 'paid_search', utm_source: 'yandex', utm_medium: 'cpc', utm_campaign: 'beds', utm_term: 'bed' });
    assert.deepEqual(
      {
        calls: beds?.calls,
        target: beds?.targetCalls,
        missed: beds?.missedCalls,
        cost: beds?.cost,
        perCall: beds?.costPerCall,
        perTarget: beds?.costPerTargetCall,
        revenue: beds?.revenue,
        romi: beds?.romi,
      },
      { calls: 1, target: 0, missed: 1, cost: 500, perCall: 500, perTarget: null, revenue: 0, romi: -1 },
    );
    const direct = rowOf(r.body.rows, { channel: 'direct', utm_source: '', utm_medium: '', utm_campaign: '', utm_term: '' });
    // Carl's callback request counts for direct, with its revenue (no cost: no ROMI).
    assert.deepEqual(
      {
        visits: direct?.visits,
        calls: direct?.calls,
        enquiries: direct?.enquiries,
        conversionRate: direct?.conversionRate,
        revenue: direct?.revenue,
        romi: direct?.romi,
      },
      { visits: 1, calls: 0, enquiries: 1, conversionRate: 1, revenue: 700, romi: null },
    );
    const billboard = r.body.rows.find((x: { key: Row }) => x.key['utm_source'] === 'billboard');
    assert.deepEqual(
      { channel: billboard?.key.channel, calls: billboard?.calls, target: billboard?.targetCalls },
      { channel: staticChannel, calls: 1, target: 0 },
    );
    const unmatched = rowOf(r.body.rows, { channel: '', utm_source: '', utm_medium: '', utm_campaign: '', utm_term: '' });
    assert.deepEqual({ calls: unmatched?.calls, target: unmatched?.targetCalls }, { calls: 1, target: 1 });
    // The spam call is nowhere; the organic visit of the day before is outside the range.
    assert.deepEqual(r.body.totals, { visits: 3, calls: 4, enquiries: 1, targetCalls: 2, missedCalls: 1, cost: 1500, revenue: 5700 });

    const channels = await get(`reports/sources?${RANGE}&level=channel&model=linear`);
    const paid = rowOf(channels.body.rows, { channel: 'paid_search' });
    // Linear: Anna's call is half organic (the visit the day before), half paid search.
    assert.deepEqual(
      { visits: paid?.visits, calls: paid?.calls, cost: paid?.cost, revenue: paid?.revenue, romi: paid?.romi },
      { visits: 2, calls: 1.5, cost: 1500, revenue: 2500, romi: 0.666667 },
    );
    const organic = rowOf(channels.body.rows, { channel: 'organic_search' });
    assert.deepEqual({ visits: organic?.visits, calls: organic?.calls, revenue: organic?.revenue }, { visits: 0, calls: 0.5, revenue: 2500 });
  });

  it('(b) day by hour in the site time zone', async () => {
    const r = await get(`reports/day-by-hour?${RANGE}`);
    assert.equal(r.status, 200);
    assert.deepEqual(
      r.body.rows.map((x: Row) => [x['day'], x['hour'], x['visits'], x['calls'], x['targetCalls'], x['missedCalls']]),
      [
        ['2026-10-05', 10, 1, 1, 1, 0],
        ['2026-10-05', 11, 1, 1, 0, 1],
        ['2026-10-05', 12, 1, 0, 0, 0],
        ['2026-10-05', 13, 0, 1, 0, 0],
        ['2026-10-05', 14, 0, 1, 1, 0],
      ],
    );
    assert.equal(r.body.rows[0].weekday, 1, 'Monday');
  });

  it('(c) device, region and landing page, from the user agent and the address of each visit', async () => {
    const devices = await get(`reports/segments?${RANGE}&by=device_type`);
    assert.equal(devices.status, 200);
    const of = (rows: Array<{ key: Row; visits: number; calls: number }>) =>
      Object.fromEntries(rows.map((x) => [Object.values(x.key).join('/'), [x.visits, x.calls]]));
    assert.deepEqual(of(devices.body.rows), { desktop: [2, 1], mobile: [1, 1], '': [0, 2] });
    const cities = await get(`reports/segments?${RANGE}&by=city`);
    assert.deepEqual(of(cities.body.rows), { 'RU/Moscow/Moscow': [1, 1], 'RU/Omsk Oblast/Omsk': [1, 1], 'US/California/Mountain View': [1, 0], '//': [0, 2] });
    const pages = await get(`reports/segments?${RANGE}&by=landing_page`);
    assert.deepEqual(of(pages.body.rows), {
      'https://rep.example/sofas': [1, 1],
      'https://rep.example/beds': [1, 1],
      'https://rep.example/': [1, 0],
      '': [0, 2],
    });
    const os = await get(`reports/segments?${RANGE}&by=os`);
    assert.deepEqual(of(os.body.rows), { Windows: [2, 1], iOS: [1, 1], '': [0, 2] });
  });

  it('(d) multi-channel sequences: top paths, path length, time lag, assisted against last click', async () => {
    const r = await get(`reports/paths?${RANGE}`);
    assert.equal(r.status, 200);
    // Anna's call (organic the day before, then paid), Boris's call (paid) and the static-number call (its one source).
    assert.equal(r.body.conversions, 3);
    assert.deepEqual(r.body.topPaths, [
      { path: ['organic_search', 'paid_search'], conversions: 1, share: 0.333333 },
      { path: ['other'], conversions: 1, share: 0.333333 },
      { path: ['paid_search'], conversions: 1, share: 0.333333 },
    ]);
    assert.deepEqual(r.body.pathLengths, [
      { touches: 1, conversions: 2, share: 0.666667 },
      { touches: 2, conversions: 1, share: 0.333333 },
    ]);
    assert.deepEqual(r.body.timeLag, [
      { days: '0', conversions: 2, share: 0.666667 },
      { days: '1', conversions: 1, share: 0.333333 },
    ]);
    assert.deepEqual(r.body.assisted, [
      { channel: 'paid_search', lastClick: 2, assisted: 0, assistedToLastClick: 0 },
      { channel: 'organic_search', lastClick: 0, assisted: 1, assistedToLastClick: null },
      { channel: 'other', lastClick: 1, assisted: 0, assistedToLastClick: 0 },
    ]);
  });

  it('(e) missed and not called back', async () => {
    const r = await get(`reports/missed?${RANGE}`);
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.summary, { missed: 1, called_back: 0, not_called_back: 1, pending: 0, outside_hours: 0 });
    assert.deepEqual(
      r.body.calls.map((c: Row) => [c['call_id'], c['caller_number'], c['utm_campaign'], c['wait_seconds']]),
      [['generic:c-b', '+79160000002', 'beds', 25]],
    );
  });

  it('(f) the visitor card, by visitor id or by the caller phone in any format', async () => {
    const byPhone = await get(`visitors?phone=${encodeURIComponent('8 (916) 000-00-01')}`);
    assert.equal(byPhone.status, 200, JSON.stringify(byPhone.body));
    assert.deepEqual(byPhone.body.visitorIds, ['v-anna']);
    assert.deepEqual(byPhone.body.phones, ['+79160000001']);
    // The spam call to the number Anna was shown is in her history, marked, and counted apart.
    assert.deepEqual(byPhone.body.summary, {
      visits: 2,
      calls: 1,
      spamCalls: 1,
      targetCalls: 1,
      missedCalls: 0,
      enquiries: 0,
      leads: 1,
      firstSeenAt: '2026-10-04T07:00:00.000Z',
    });
    assert.deepEqual(
      byPhone.body.calls.map((c: Row) => [c['call_id'], c['verdict']]),
      [
        ['generic:c-spam', 'spam'],
        ['generic:c-a', 'clean'],
      ],
    );
    assert.deepEqual(
      byPhone.body.sources.map((s: Row) => [s['channel'], s['utmSource'], s['visits']]),
      [
        ['organic_search', '', 1],
        ['paid_search', 'google', 1],
      ],
    );
    assert.deepEqual(
      byPhone.body.visits.map((v: Row) => [v['session_id'], v['device_type'], v['city']]),
      [
        ['s-a2', 'desktop', 'Moscow'],
        ['s-a1', 'desktop', 'Moscow'],
      ],
    );
    const byVisitor = await get('visitors/v-boris');
    assert.equal(byVisitor.status, 200);
    assert.deepEqual(byVisitor.body.phones, ['+79160000002']);
    assert.deepEqual(
      byVisitor.body.calls.map((c: Row) => [c['call_id'], c['is_missed']]),
      [['generic:c-b', true]],
    );
    assert.equal((await get('visitors/v-nobody')).status, 404);
    const bad = await get('visitors?phone=12');
    assert.equal(bad.status, 400);
    assert.match(bad.body.error.message, /phone/);
  });

  it('(g) models side by side: each channel under each model, the credits summing to the matched calls', async () => {
    const r = await get(`reports/models?${RANGE}`);
    assert.equal(r.status, 200);
    const paid = r.body.rows.find((x: Row) => x['channel'] === 'paid_search').credits;
    const organic = r.body.rows.find((x: Row) => x['channel'] === 'organic_search').credits;
    assert.deepEqual([paid.last_non_direct_click, paid.last_click, paid.first_click, paid.linear, paid.position_based], [2, 2, 1, 1.5, 1.5]);
    assert.deepEqual([organic.last_non_direct_click, organic.first_click, organic.linear], [0, 1, 0.5]);
    assert.equal(r.body.rows.find((x: Row) => x['channel'] === staticChannel).credits.linear, 1, 'a static number is a one-touch path');
    for (const model of r.body.models as string[]) {
      const sum = (r.body.rows as Array<{ credits: Record<string, number> }>).reduce((a, x) => a + (x.credits[model] ?? 0), 0);
      assert.ok(Math.abs(sum - 3) < 1e-6, `${model} credits the three matched calls, not ${sum}`);
    }
  });

  it('daily aggregates and BI views count the same visits and calls (UTC days), the replayed visit once, the bot not at all', async () => {
    const [day] = await ch.query<Row>(
      `SELECT sum(visits) AS visits, sum(calls) AS calls, sum(target_calls) AS target, sum(missed_calls) AS missed, sum(cost) AS cost
       FROM sources_daily WHERE site_id = {s:String} AND day = '2026-10-05'`,
      { s: SITE },
    );
    assert.deepEqual([Number(day!['visits']), Number(day!['calls']), Number(day!['target']), Number(day!['missed']), Number(day!['cost'])], [3, 4, 2, 1, 1500]);
    const [bots] = await ch.query<Row>(
      `SELECT sum(bot_visits) AS n FROM bot_visits_daily WHERE site_id = {s:String} AND day = '2026-10-05' AND utm_campaign = 'sofas'`,
      { s: SITE },
    );
    assert.equal(Number(bots!['n']), 1, 'the bot is counted apart');
    const [current] = await ch.query<Row>(`SELECT count() AS n FROM calls_current WHERE site_id = {s:String}`, { s: SITE });
    assert.equal(Number(current!['n']), 5);
  });

  it('ad costs: a re-sent import changes nothing, a later one replaces the figures; bad imports are refused naming the row', async () => {
    const rows = [{ day: '2026-10-05', source: 'google', medium: 'cpc', campaign: 'sofas', keyword: 'buy sofa', cost: 1000, clicks: 50, impressions: 1000 }];
    assert.equal((await admin('POST', `${SITE}/ad-costs`, { importId: 'oct-5', currency: 'RUB', rows })).status, 202);
    const corrected = await admin('POST', `${SITE}/ad-costs`, { currency: 'RUB', rows: [{ ...rows[0], cost: 1200 }] });
    assert.equal(corrected.status, 202);
    await waitFor(
      async () => (await admin('GET', `${SITE}/ad-costs?from=2026-10-05&to=2026-10-05`)).body.rows.find((x: Row) => x['source'] === 'google')?.cost === 1200,
      { what: 'the corrected cost' },
    );
    const list = await admin('GET', `${SITE}/ad-costs?from=2026-10-01&to=2026-10-31`);
    assert.equal(list.body.rows.length, 3, 'replaced, not added');
    assert.equal(list.body.rows.find((x: Row) => x['day'] === '2026-10-05' && x['source'] === 'google')['channel'], 'paid_search');

    const refused = async (body: unknown, pattern: RegExp, status = 400) => {
      const r = await admin('POST', `${SITE}/ad-costs`, body);
      assert.equal(r.status, status, JSON.stringify(r.body));
      assert.match(JSON.stringify(r.body.error), pattern);
    };
    await refused({ currency: 'RUB', rows: [] }, /rows must not be empty/);
    await refused({ currency: 'RUB', rows: [{ ...rows[0], day: '2026-02-30' }] }, /rows\.0\.day.*calendar date/);
    await refused({ currency: 'RUB', rows: [{ ...rows[0], cost: -1 }] }, /cost must not be negative/);
    await refused({ rows }, /currency/);
    await refused({ currency: 'rub', rows }, /ISO 4217/);
    await refused({ currency: 'RUB', rows: [rows[0], rows[0]] }, /rows 0 and 1 have the same day/);
    await refused({ currency: 'RUB', rows: [{ ...rows[0], bid: 3 }] }, /bid/);
    await refused({ currency: 'RUB', rows: Array.from({ length: 20_001 }, (_, i) => ({ ...rows[0], keyword: `k${i}` })) }, /at most 20000 rows/);
    const huge = await http('POST', `${service.url}/v1/admin/sites/${SITE}/ad-costs`, {
      headers: auth,
      body: { currency: 'RUB', rows: [{ ...rows[0], keyword: 'x'.repeat(5 * 1024 * 1024) }] },
    });
    assert.equal(huge.status, 413);
    assert.equal((await admin('POST', 'no-such-site/ad-costs', { currency: 'RUB', rows })).status, 404);
    assert.equal((await admin('POST', `${SITE}/ad-costs`, { currency: 'RUB', rows }, {})).status, 401);
    assert.equal((await admin('GET', `${SITE}/ad-costs?from=2026-10-31&to=2026-10-01`)).status, 400);

    assert.equal((await admin('PUT', `${SITE}/revenue/${encodeURIComponent('generic:nope')}`, { amount: 1, currency: 'RUB' })).status, 404);
    const badDeal = await admin('PUT', `${SITE}/revenue/${encodeURIComponent('generic:c-a')}`, { amount: -5, currency: 'RUB' });
    assert.equal(badDeal.status, 400);
    assert.match(badDeal.body.error.message, /amount/);
  });

  it('reports refuse bad queries naming the parameter, unknown sites and missing tokens', async () => {
    const bad = async (path: string, pattern: RegExp, status = 400) => {
      const r = await get(path);
      assert.equal(r.status, status, `${path}: ${JSON.stringify(r.body)}`);
      assert.match(r.body.error.message, pattern);
    };
    await bad('reports/sources?level=city', /level must be one of/);
    await bad('reports/sources?model=best', /model must be one of/);
    await bad('reports/segments', /by must be one of/);
    await bad(`reports/day-by-hour?from=2026-10-09T00:00:00Z&to=2026-10-01T00:00:00Z`, /from must be before to/);
    await bad(`reports/paths?top=0`, /top must be 1..100/);
    await bad(`reports/missed?status=maybe`, /status must be one of/);
    await bad(`reports/models?site=other`, /site/);
    const unknown = await http('GET', `${service.url}/v1/sites/nowhere/reports/sources`, { headers: auth });
    assert.equal(unknown.status, 404);
    assert.equal((await http('GET', `${service.url}/v1/sites/${SITE}/reports/sources`)).status, 401);
  });
});
