// Issue 4 end to end on the real broker and the embedded ClickHouse engine: matching
// (multiple candidates, promo codes and their re-attribution, repeat callers),
// classification, credits as stored, the data-driven model, settings and recompute,
// tags and comments, and the admin APIs' answers to bad input.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { calltrack, callKey, createEvent, siteKey, visitorKey, type DomainEvent, type EventInput, type TopicKey } from '@calltrack/contracts';
import type { ClickHouse } from '@calltrack/clickhouse';
import { KafkaBus } from '@calltrack/kafka';
import type { RunningService } from '@calltrack/service-kit';
import { createKafkaTestEnv, http, TopicProbe, testLogger, waitFor, type KafkaTestEnv } from '@calltrack/testing';
import { startAttributionForTest, TEST_ADMIN_TOKEN } from '../attribution.fixture.js';

const { CallStatus, CallDirection, Verdict, MatchMethod } = calltrack.events.v1;
const ADMIN = TEST_ADMIN_TOKEN;
const auth = { authorization: `Bearer ${ADMIN}` };
const SITE = 'shop';
const MARKOV_SITE = 'markov';
const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const DEFAULT_NUMBER = '+74950000000';
const STATIC_NUMBER = '+74957770000';
const P = ['+74951000001', '+74951000002', '+74951000003', '+74951000004'];
const M = ['+74952000001', '+74952000002'];
// Monday 5 October 2026, 10:00 in Moscow.
const MON_10_MSK = Date.parse('2026-10-05T07:00:00Z');

type Row = Record<string, unknown>;
type Attributed = DomainEvent<'CallAttributed'>;

process.env['CLICKHOUSE_DATA_DIR'] ??= mkdtempSync(join(tmpdir(), 'calltrack-chdb-'));

describe('attribution rules (issue 4) on the real broker and the embedded ClickHouse engine', () => {
  let env: KafkaTestEnv;
  let bus: KafkaBus;
  let probe: TopicProbe;
  let service: RunningService;
  let ch: ClickHouse;
  const database = `rules_${randomUUID().slice(0, 8)}`;
  const now = Date.now();

  const send = (topic: TopicKey, key: string, event: DomainEvent) => bus.producer.publish(topic, key, event);
  const visit = (site: string, sessionId: string, visitorId: string, startedAtMs: number, origin: calltrack.events.v1.IVisitOrigin = {}) =>
    send(
      'sessions',
      visitorKey(site, visitorId),
      createEvent('SessionStarted', { sessionId, visitorId, startedAtMs, userAgent: 'Mozilla/5.0', origin }, { siteId: site, producer: 'test' }),
    );
  const grant = (
    site: string,
    leaseId: string,
    sessionId: string,
    visitorId: string,
    trackingNumber: string,
    grantedAtMs: number,
    extra: Partial<EventInput<'LeaseGranted'>> = {},
  ) =>
    send(
      'poolEvents',
      siteKey(site),
      createEvent(
        'LeaseGranted',
        { requestId: leaseId, leaseId, sessionId, visitorId, trackingNumber, grantedAtMs, expiresAtMs: grantedAtMs + 15 * MIN, ...extra },
        { siteId: site, producer: 'test' },
      ),
    );
  const release = (site: string, leaseId: string, sessionId: string, trackingNumber: string, releasedAtMs: number) =>
    send('poolEvents', siteKey(site), createEvent('LeaseExpired', { leaseId, sessionId, trackingNumber, releasedAtMs }, { siteId: site, producer: 'test' }));

  const screened = (
    site: string,
    callId: string,
    o: { to?: string; from?: string; at: number; status?: number; talk?: number; sequence?: number; outboundTo?: string; verdict?: number },
  ): DomainEvent<'CallScreened'> => {
    const status = o.status ?? CallStatus.CALL_STATUS_COMPLETED;
    const answered = status === CallStatus.CALL_STATUS_COMPLETED;
    const outbound = o.outboundTo !== undefined;
    return createEvent(
      'CallScreened',
      {
        call: {
          callId,
          provider: 'generic',
          providerCallId: callId,
          trackingNumber: outbound ? '' : (o.to ?? DEFAULT_NUMBER),
          callerNumber: outbound ? '' : (o.from ?? ''),
          calledNumber: o.outboundTo ?? '',
          direction: outbound ? CallDirection.CALL_DIRECTION_OUTBOUND : CallDirection.CALL_DIRECTION_INBOUND,
          status,
          startedAtMs: o.at,
          answeredAtMs: answered ? o.at + 5_000 : 0,
          endedAtMs: answered ? o.at + 5_000 + (o.talk ?? 60) * 1000 : o.at + 20_000,
          sequence: o.sequence ?? 3,
        },
        verdict: o.verdict ?? Verdict.VERDICT_CLEAN,
      },
      { siteId: site, producer: 'test' },
    );
  };
  const sendCall = (e: DomainEvent<'CallScreened'>) => send('screenedCalls', callKey(e.siteId, e.payload.call!.callId!), e);

  const stored = (callId: string, pred: (row: Row) => boolean = () => true, site = SITE): Promise<Row> =>
    waitFor(
      async () => {
        const r = await http('GET', `${service.url}/v1/sites/${site}/calls/${encodeURIComponent(callId)}`, { headers: auth });
        return r.status === 200 && pred(r.body as Row) ? (r.body as Row) : undefined;
      },
      { what: `call ${callId} in ClickHouse`, timeoutMs: 30_000 },
    );
  const attributedOf = (callId: string): Attributed[] =>
    probe.events('attributedCalls').filter((e): e is Attributed => e.type === 'CallAttributed' && e.payload.call?.callId === callId);
  const version = async (site: string, callId: string): Promise<bigint> => {
    const rows = await ch.query<{ v: string }>(`SELECT toString(max(version)) AS v FROM calls WHERE site_id = {s:String} AND call_id = {c:String}`, {
      s: site,
      c: callId,
    });
    return BigInt(rows[0]?.v ?? '0');
  };
  const credits = (site: string, callId: string) =>
    ch.query<{ model: string; session_id: string; channel: string; credit: number; touch_index: number; touch_count: number }>(
      `SELECT model, session_id, channel, round(credit, 6) AS credit, touch_index, touch_count FROM attribution_credits FINAL
       WHERE site_id = {s:String} AND call_id = {c:String} ORDER BY model, touch_index`,
      { s: site, c: callId },
    );
  const creditOf = async (site: string, callId: string): Promise<Record<string, Record<string, number>>> => {
    const out: Record<string, Record<string, number>> = {};
    for (const c of await credits(site, callId)) (out[c.model] ??= {})[c.channel] = (out[c.model]![c.channel] ?? 0) + Number(c.credit);
    return out;
  };
  const admin = (method: string, path: string, body?: unknown, headers: Record<string, string> = auth) =>
    http(method, `${service.url}/v1/admin/sites/${path}`, { headers, ...(body === undefined ? {} : { body }) });
  const jobDone = (site: string, jobId: string) =>
    waitFor(
      async () => {
        const r = await admin('GET', `${site}/attribution/recompute/${jobId}`);
        return r.status === 200 && r.body.status !== 'running' ? r.body : undefined;
      },
      { what: `recompute ${jobId}`, timeoutMs: 60_000 },
    );

  before(async () => {
    env = await createKafkaTestEnv('rules');
    bus = new KafkaBus({ ...env.settings, clientId: 'rules-test' }, testLogger);
    await bus.connect();
    probe = await TopicProbe.start(env, ['attributedCalls', 'callAnnotations', 'attributionSettings']);
    const site = (name: string, pool: string[]) =>
      createEvent(
        'SiteConfigured',
        {
          name,
          country: 'RU',
          timeZone: 'Europe/Moscow',
          defaultNumber: DEFAULT_NUMBER,
          poolNumbers: pool,
          staticNumbers: [{ number: STATIC_NUMBER, utmSource: 'billboard', utmMedium: 'offline', utmCampaign: 'ring-road' }],
        },
        { siteId: name, producer: 'test' },
      );
    await send('sites', siteKey(SITE), site(SITE, P));
    await send('sites', siteKey(MARKOV_SITE), site(MARKOV_SITE, M));
    ({ service, ch } = await startAttributionForTest(env, database));
  });

  after(async () => {
    await service?.close();
    await ch?.close();
    await probe?.stop();
    await bus?.close();
  });

  it('keeps per-site settings as events: defaults, a change with ETag and If-Match, and a recompute', async () => {
    const first = await admin('GET', `${SITE}/attribution-settings`);
    assert.equal(first.status, 200);
    assert.equal(first.headers.get('etag'), '"0"');
    assert.deepEqual(first.body.settings, {
      lookbackDays: 30,
      defaultModel: 'last_non_direct_click',
      timeDecayHalfLifeDays: 7,
      positionBased: { firstShare: 0.4, lastShare: 0.4 },
      targetCallSeconds: 30,
      repeatCallerWindowDays: 30,
      leadWindowDays: 7,
      callbackWindowHours: 24,
      workingHours: null,
      holidays: [],
      markovOrder: 1,
      markovPathCap: 50,
    });
    const office = Object.fromEntries(['mon', 'tue', 'wed', 'thu', 'fri'].map((d) => [d, [{ from: '09:00', to: '18:00' }]]));
    const put = await http('PUT', `${service.url}/v1/admin/sites/${SITE}/attribution-settings`, {
      headers: { ...auth, 'if-match': '"0"', 'x-operator': 'anna' },
      body: { targetCallSeconds: 60, callbackWindowHours: 1, workingHours: office, holidays: ['2026-10-09'] },
    });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    assert.equal(put.headers.get('etag'), '"1"');
    assert.equal(put.body.revision, 1);
    assert.equal(put.body.changedBy, 'anna');
    assert.equal(put.body.settings.targetCallSeconds, 60);
    assert.equal(put.body.settings.lookbackDays, 30, 'left out: the default');
    assert.equal(put.body.recompute.status, 'running');
    const stale = await http('PUT', `${service.url}/v1/admin/sites/${SITE}/attribution-settings`, { headers: { ...auth, 'if-match': '"0"' }, body: {} });
    assert.equal(stale.status, 412);
    assert.match(stale.body.error.message, /revision 1, not "0"/);
    assert.equal((await admin('GET', `${SITE}/attribution-settings`)).body.settings.callbackWindowHours, 1);
    const event = await waitFor(() => probe.events('attributionSettings').find((e) => e.siteId === SITE), { what: 'AttributionSettingsChanged' });
    assert.equal(event.type, 'AttributionSettingsChanged');
    assert.equal(event.type === 'AttributionSettingsChanged' && event.payload.revision, 1);
    const done = await jobDone(SITE, put.body.recompute.jobId);
    assert.equal(done.status, 'done');
    assert.equal(done.settingsRevision, 1);
    // Projected for reports too.
    await waitFor(
      async () => (await ch.query(`SELECT 1 FROM attribution_settings FINAL WHERE site_id = {s:String} AND revision = 1`, { s: SITE })).length === 1,
      { what: 'settings history row' },
    );
  });

  it('credits no call to a lease given back unseen (released at its grant: the answer reached session-tracker too late)', async () => {
    // Visitor D held P4 until 11:16. At 11:20 number-pool granted P4 to E, but E had already been shown the
    // default number, so the grant was given back at once (LeaseExpired reason "undelivered", released at the grant).
    const t = MON_10_MSK + HOUR;
    await visit(SITE, 's-d', 'v-d', t, { utm: { source: 'yandex', medium: 'cpc' }, channel: 'paid_search' });
    await grant(SITE, 'l-d', 's-d', 'v-d', P[3]!, t);
    await release(SITE, 'l-d', 's-d', P[3]!, t + 16 * MIN);
    await visit(SITE, 's-e', 'v-e', t + 20 * MIN, { utm: { source: 'google', medium: 'cpc' }, channel: 'paid_search' });
    await grant(SITE, 'l-e', 's-e', 'v-e', P[3]!, t + 20 * MIN, { requestDeadlineMs: t + 20 * MIN + 1 });
    await send(
      'poolEvents',
      siteKey(SITE),
      createEvent(
        'LeaseExpired',
        { leaseId: 'l-e', sessionId: 's-e', trackingNumber: P[3]!, releasedAtMs: t + 20 * MIN, reason: 'undelivered' },
        { siteId: SITE, producer: 'test' },
      ),
    );
    await waitFor(
      async () =>
        (await ch.query(`SELECT 1 FROM leases FINAL WHERE site_id = {s:String} AND lease_id IN ('l-d', 'l-e') AND released_at IS NOT NULL`, { s: SITE }))
          .length === 2,
      { what: 'both leases stored with their release' },
    );
    // 11:21: within D's grace after release; E never saw the number.
    await sendCall(screened(SITE, 'c-undelivered', { to: P[3], from: '+79160000009', at: t + 21 * MIN, talk: 45 }));
    const row = await stored('c-undelivered');
    assert.equal(row['match_method'], 'dynamic');
    assert.equal(row['session_id'], 's-d');
  });

  it('picks the latest lease among several candidates, stores its confidence, and classifies by the site settings', async () => {
    // Visitor A held P1 until 10:16; visitor B got it at 10:20; the call at 10:21 could be either.
    const t = MON_10_MSK;
    await visit(SITE, 's-a', 'v-a', t, { utm: { source: 'google', medium: 'cpc' }, channel: 'paid_search' });
    await grant(SITE, 'l-a', 's-a', 'v-a', P[0]!, t);
    await release(SITE, 'l-a', 's-a', P[0]!, t + 16 * MIN);
    await visit(SITE, 's-b', 'v-b', t + 20 * MIN, { utm: { source: 'google', medium: 'organic' }, channel: 'organic_search' });
    await grant(SITE, 'l-b', 's-b', 'v-b', P[0]!, t + 20 * MIN);
    // The state consumer runs apart from the calls consumer: the rule is checked on complete state.
    await waitFor(
      async () =>
        (
          await ch.query(`SELECT 1 FROM leases FINAL WHERE site_id = {s:String} AND ((lease_id = 'l-a' AND released_at IS NOT NULL) OR lease_id = 'l-b')`, {
            s: SITE,
          })
        ).length === 2,
      { what: 'both leases stored' },
    );
    await sendCall(screened(SITE, 'c-multi', { to: P[0], from: '+79160000001', at: t + 21 * MIN, talk: 45 }));
    const row = await stored('c-multi');
    assert.equal(row['match_method'], 'dynamic');
    assert.equal(row['session_id'], 's-b');
    // p(B) = 1 (held), p(A) = 1 − ½·5/10 = 0.75 (ended 5 of the 10 grace minutes ago): 1·1/1.75.
    assert.equal(row['match_confidence'], 0.571429);
    assert.equal(row['is_target'], false, 'talked 45 s, the site threshold is 60 s');
    assert.equal(row['is_outside_hours'], false, 'Monday 10:21 in Moscow');
    assert.equal(row['caller_type'], 'first');
    assert.equal(row['lead_id'], 'c-multi');
    assert.equal(row['settings_revision'], 1);
    const out = await waitFor(() => attributedOf('c-multi')[0], { what: 'CallAttributed of c-multi' });
    assert.equal(out.payload.confidence, 0.571429);
    assert.equal(out.payload.classification?.leadId, 'c-multi');

    // The rule cases without a broker (static numbers at local times, holidays): evaluate.spec.ts.
  });

  it('marks a missed call called back when the call-back arrives, and not called back once its window passes', async () => {
    await sendCall(screened(SITE, 'c-missed-back', { from: '+79161000001', at: now - 10 * MIN, status: CallStatus.CALL_STATUS_MISSED }));
    const missed = await stored('c-missed-back');
    assert.deepEqual([missed['is_missed'], missed['callback_status']], [true, 'pending']);
    const v1 = await version(SITE, 'c-missed-back');
    // The site calls the person back: the missed call is evaluated again.
    await sendCall(screened(SITE, 'c-callback', { outboundTo: '+79161000001', at: now - 5 * MIN }));
    const back = await stored('c-missed-back', (r) => r['callback_status'] === 'called_back');
    assert.equal(back['callback_call_id'], 'c-callback');
    assert.equal(back['called_back_at'], new Date(now - 5 * MIN).toISOString());
    assert.ok((await version(SITE, 'c-missed-back')) > v1, 'a new row version of the same report');
    const events = await waitFor(() => (attributedOf('c-missed-back').length >= 2 ? attributedOf('c-missed-back') : undefined), {
      what: 'the re-evaluated call published',
    });
    assert.equal(events[1]!.payload.classification?.callbackStatus, 'called_back');
    assert.match(events[1]!.eventId, /:attributed:\d+$/);
    const outbound = await stored('c-callback');
    assert.deepEqual(
      [outbound['direction'], outbound['match_reason'], outbound['called_number'], outbound['lead_id']],
      ['outbound', 'outbound_call', '+79161000001', ''],
    );

    // The window (1 h for this site) passes without a call-back: the sweep decides.
    await sendCall(screened(SITE, 'c-missed-window', { from: '+79161000002', at: Date.now() - HOUR + 8_000, status: CallStatus.CALL_STATUS_MISSED }));
    assert.equal((await stored('c-missed-window'))['callback_status'], 'pending');
    await stored('c-missed-window', (r) => r['callback_status'] === 'not_called_back');
    // Already past its window when stored.
    await sendCall(screened(SITE, 'c-missed-old', { from: '+79161000003', at: now - 2 * HOUR, status: CallStatus.CALL_STATUS_MISSED }));
    assert.equal((await stored('c-missed-old'))['callback_status'], 'not_called_back');
  });

  it('re-attributes a stored call when its promo code is redeemed, never over a later provider report', async () => {
    const shownAt = now - 20 * MIN;
    await visit(SITE, 's-promo', 'v-promo', shownAt, { utm: { source: 'newsletter', medium: 'email', campaign: 'autumn' }, channel: 'email' });
    await grant(SITE, 'l-promo', 's-promo', 'v-promo', '', shownAt, { promoCode: 'K7M2QX' });
    const report3 = screened(SITE, 'c-promo', { from: '+79162000001', at: now - 3 * MIN });
    await sendCall(report3);
    const before = await stored('c-promo');
    assert.deepEqual([before['match_method'], before['match_reason']], ['unmatched', 'default_number']);
    const v1 = await version(SITE, 'c-promo');

    const redeemed = createEvent(
      'PromoCodeRedeemed',
      {
        promoCode: 'K7M2QX',
        sessionId: 's-promo',
        visitorId: 'v-promo',
        leaseId: 'l-promo',
        callId: 'c-promo',
        calledAtMs: now - 3 * MIN,
        redeemedAtMs: now,
        redeemedBy: 'operator',
      },
      { siteId: SITE, producer: 'test', eventId: `${SITE}:call:c-promo:promo` },
    );
    await send('poolEvents', siteKey(SITE), redeemed);
    const after1 = await stored('c-promo', (r) => r['match_method'] === 'promo_code');
    assert.deepEqual(
      [
        after1['promo_code'],
        after1['session_id'],
        after1['visitor_id'],
        after1['utm_source'],
        after1['channel'],
        after1['match_reason'],
        after1['match_confidence'],
        after1['status'],
      ],
      ['K7M2QX', 's-promo', 'v-promo', 'newsletter', 'email', 'promo_code_call_id', 1, 'completed'],
    );
    const v2 = await version(SITE, 'c-promo');
    assert.equal(v2, v1 + 1n, 'the next step of the same report');
    const reattributed = await waitFor(() => attributedOf('c-promo').find((e) => e.payload.method === MatchMethod.MATCH_METHOD_PROMO_CODE), {
      what: 'the re-attribution published',
    });
    assert.equal(reattributed.eventId, `${report3.eventId}:attributed:${v2}`);
    assert.equal(reattributed.payload.promoCode, 'K7M2QX');
    assert.deepEqual(
      await creditOf(SITE, 'c-promo'),
      Object.fromEntries(
        ['data_driven', 'first_click', 'last_click', 'last_non_direct_click', 'linear', 'position_based', 'shapley', 'time_decay'].map((m) => [
          m,
          { email: 1 },
        ]),
      ),
    );

    // The same redemption again (redelivered), then a marker on the same partition: once the
    // marker is applied, the duplicate was too, and it changed nothing.
    await send('poolEvents', siteKey(SITE), redeemed);
    await visit(SITE, 's-promo2', 'v-promo2', shownAt, { channel: 'social', utm: { source: 'vk', medium: 'social' } });
    await grant(SITE, 'l-promo2', 's-promo2', 'v-promo2', '', shownAt, { promoCode: 'ZZ9Q' });
    // Redeemed by caller and time before the call is even reported: the call finds it.
    await send(
      'poolEvents',
      siteKey(SITE),
      createEvent(
        'PromoCodeRedeemed',
        {
          promoCode: 'ZZ9Q',
          sessionId: 's-promo2',
          visitorId: 'v-promo2',
          leaseId: 'l-promo2',
          callerNumber: '+79162000002',
          calledAtMs: now - 2 * MIN,
          redeemedAtMs: now,
        },
        { siteId: SITE, producer: 'test' },
      ),
    );
    await waitFor(
      async () => (await ch.query(`SELECT 1 FROM promo_redemptions FINAL WHERE site_id = {s:String} AND promo_code = 'ZZ9Q'`, { s: SITE })).length === 1,
      { what: 'the marker redemption stored' },
    );
    await sendCall(screened(SITE, 'c-promo2', { from: '+79162000002', at: now - 2 * MIN - 40_000 }));
    const byCaller = await stored('c-promo2');
    assert.deepEqual(
      [byCaller['match_method'], byCaller['match_reason'], byCaller['promo_code'], byCaller['channel']],
      ['promo_code', 'promo_code_caller_time', 'ZZ9Q', 'social'],
    );
    assert.equal(await version(SITE, 'c-promo'), v2, 'the duplicate redemption wrote nothing');
    assert.equal(attributedOf('c-promo').length, 2, 'and published nothing');

    // The provider's later report of the call: stored above the re-attribution, still promo.
    const report4 = screened(SITE, 'c-promo', { from: '+79162000001', at: now - 3 * MIN, sequence: 4, talk: 90 });
    await sendCall(report4);
    const latest = await stored('c-promo', (r) => r['talk_seconds'] === 90);
    assert.equal(latest['match_method'], 'promo_code');
    assert.ok((await version(SITE, 'c-promo')) > v2);
    const published = await waitFor(() => attributedOf('c-promo').find((e) => e.eventId === `${report4.eventId}:attributed`), {
      what: 'the later report published',
    });
    assert.equal(published.payload.method, MatchMethod.MATCH_METHOD_PROMO_CODE);
  });

  it("learns the data-driven model from all paths of a site and stores every model's credits per touch", async () => {
    // The hand-solved chain of models/attribution-models.spec.ts with A = paid_search, B = email:
    // v1 [A, B] converts, v2 [A] and v3 [B] do not → P(conversion) = ⅓, shares A ⅓, B ⅔.
    const t = now - 20 * DAY;
    const paid = { utm: { source: 'google', medium: 'cpc' }, channel: 'paid_search' };
    const email = { utm: { source: 'newsletter', medium: 'email' }, channel: 'email' };
    await visit(MARKOV_SITE, 'm1a', 'mv1', t, paid);
    await visit(MARKOV_SITE, 'm1b', 'mv1', t + DAY, email);
    await grant(MARKOV_SITE, 'ml1', 'm1b', 'mv1', M[0]!, t + DAY);
    await visit(MARKOV_SITE, 'm2', 'mv2', t, paid);
    await visit(MARKOV_SITE, 'm3', 'mv3', t, email);
    await sendCall(screened(MARKOV_SITE, 'cm1', { to: M[0], from: '+79164000001', at: t + DAY + MIN }));
    await stored('cm1', () => true, MARKOV_SITE);
    await waitFor(async () => (await ch.query(`SELECT 1 FROM visits FINAL WHERE site_id = {s:String}`, { s: MARKOV_SITE })).length === 4, {
      what: 'the visits stored',
    });
    // The converting call brought 900: the model credits it to the channels as it credits the call.
    assert.equal((await admin('PUT', `${MARKOV_SITE}/revenue/cm1`, { amount: 900, currency: 'RUB' })).status, 200);
    await waitFor(async () => (await ch.query(`SELECT 1 FROM conversion_revenue FINAL WHERE site_id = {s:String}`, { s: MARKOV_SITE })).length === 1, {
      what: 'the revenue stored',
    });

    const model = await admin('POST', `${MARKOV_SITE}/attribution/data-driven-model`);
    assert.equal(model.status, 200, JSON.stringify(model.body));
    assert.equal(model.body.paths, 3);
    assert.equal(model.body.convertingPaths, 1);
    assert.ok(Math.abs(model.body.conversionProbability - 1 / 3) < 1e-9);
    const share = (c: string) => model.body.channels.find((x: Row) => x['channel'] === c)?.share as number;
    assert.ok(Math.abs(share('paid_search') - 1 / 3) < 1e-9 && Math.abs(share('email') - 2 / 3) < 1e-9, JSON.stringify(model.body.channels));
    // One converting path: its credits are the model's attribution, so the fitted weights are the shares.
    const field = (c: string, f: string) => model.body.channels.find((x: Row) => x['channel'] === c)?.[f] as number;
    assert.ok(
      Math.abs(field('email', 'creditWeight') - 2 / 3) < 1e-6 && Math.abs(field('email', 'conversions') - 2 / 3) < 1e-9,
      JSON.stringify(model.body.channels),
    );
    assert.ok(model.body.fitError <= 1e-6);
    // Its value by channel: 900 × ⅓ and 900 × ⅔ under the Markov model, ½ each under Shapley.
    assert.ok(Math.abs(field('paid_search', 'conversionValue') - 300) < 1e-3 && Math.abs(field('email', 'conversionValue') - 600) < 1e-3);
    assert.ok(Math.abs(field('email', 'shapleyConversionValue') - 450) < 1e-3, JSON.stringify(model.body.channels));
    // Shapley: {paid, email} converts 1 of 1, {paid} and {email} 0 of 1 → φ = ½ each.
    assert.ok(Math.abs(field('paid_search', 'shapleyShare') - 0.5) < 1e-9 && Math.abs(field('email', 'shapleyShare') - 0.5) < 1e-9);
    assert.equal(model.body.markovOrder, 1);
    // The models report shows the learnt models in force beside the credits.
    const modelsReport = await http(
      'GET',
      `${service.url}/v1/sites/${MARKOV_SITE}/reports/models?from=${encodeURIComponent(new Date(t - DAY).toISOString())}`,
      { headers: auth },
    );
    assert.equal(modelsReport.status, 200, JSON.stringify(modelsReport.body));
    assert.equal(modelsReport.body.learntModels.modelId, model.body.modelId);
    const reported = (c: string) => modelsReport.body.learntModels.channels.find((x: Row) => x['channel'] === c);
    assert.ok(Math.abs(reported('email').conversionValue - 600) < 1e-3, JSON.stringify(modelsReport.body.learntModels));
    // ... and so does the table, for BI.
    const [weightsRow] = await ch.query<Row>(
      `SELECT conversion_value, shapley_conversion_value FROM markov_channel_weights FINAL
       WHERE site_id = {s:String} AND model_id = {m:String} AND channel = 'email'`,
      { s: MARKOV_SITE, m: model.body.modelId },
    );
    assert.ok(Math.abs(Number(weightsRow!['conversion_value']) - 600) < 1e-3 && Math.abs(Number(weightsRow!['shapley_conversion_value']) - 450) < 1e-3);
    assert.ok(modelsReport.body.models.includes('shapley'));
    assert.equal((await admin('GET', `${MARKOV_SITE}/attribution/data-driven-model`)).body.modelId, model.body.modelId);

    // A new visitor with the same path: paid search 7 days before the call, e-mail right before it.
    const c = now - 5 * DAY;
    await visit(MARKOV_SITE, 'm4a', 'mv4', c - 7 * DAY, paid);
    await visit(MARKOV_SITE, 'm4b', 'mv4', c - 1, email);
    await grant(MARKOV_SITE, 'ml4', 'm4b', 'mv4', M[1]!, c - 1);
    await sendCall(screened(MARKOV_SITE, 'cm2', { to: M[1], from: '+79164000002', at: c }));
    await stored('cm2', () => true, MARKOV_SITE);
    // 3 single-touch models with one row each, 5 models sharing over both touches: 13 rows.
    const rows = await waitFor(async () => ((await credits(MARKOV_SITE, 'cm2')).length === 13 ? credits(MARKOV_SITE, 'cm2') : undefined), {
      what: 'credits of cm2',
    });
    assert.ok(rows.every((r) => Number(r.touch_count) === 2));
    assert.deepEqual(await creditOf(MARKOV_SITE, 'cm2'), {
      data_driven: { paid_search: 0.333333, email: 0.666667 },
      first_click: { paid_search: 1 },
      last_click: { email: 1 },
      last_non_direct_click: { email: 1 },
      linear: { paid_search: 0.5, email: 0.5 },
      position_based: { paid_search: 0.5, email: 0.5 },
      shapley: { paid_search: 0.5, email: 0.5 },
      // Half-life 7 days, the paid visit 7 days older: weights ½ and 1.
      time_decay: { paid_search: 0.333333, email: 0.666667 },
    });
    const report = await http(
      'GET',
      `${service.url}/v1/sites/${MARKOV_SITE}/report/attribution?model=first_click&from=${new Date(now - 30 * DAY).toISOString()}`,
      { headers: auth },
    );
    assert.equal(report.status, 200);
    assert.deepEqual(
      report.body.rows.map((r: Row) => [r['channel'], r['calls']]),
      [['paid_search', 2]],
    );
    const byDefault = await http('GET', `${service.url}/v1/sites/${MARKOV_SITE}/report/attribution?from=${new Date(now - 30 * DAY).toISOString()}`, {
      headers: auth,
    });
    assert.equal(byDefault.body.model, 'last_non_direct_click');
    assert.deepEqual(
      byDefault.body.rows.map((r: Row) => [r['channel'], r['calls']]),
      [['email', 2]],
    );
    const linear = await http('GET', `${service.url}/v1/sites/${MARKOV_SITE}/report/attribution?model=linear&from=${new Date(now - 30 * DAY).toISOString()}`, {
      headers: auth,
    });
    assert.deepEqual(
      linear.body.rows.map((r: Row) => [r['channel'], r['calls']]),
      [
        ['email', 1],
        ['paid_search', 1],
      ],
      'each call shared half and half',
    );
  });

  it('recomputes a site when its settings change, deterministically: a second run writes nothing', async () => {
    const snapshot = async () => ({
      calls: await ch.query(`SELECT * EXCEPT (ingested_at) FROM calls FINAL WHERE site_id = {s:String} ORDER BY call_id`, { s: MARKOV_SITE }),
      credits: await ch.query(`SELECT * EXCEPT (ingested_at) FROM attribution_credits FINAL WHERE site_id = {s:String} ORDER BY call_id, model, session_id`, {
        s: MARKOV_SITE,
      }),
      rowCount: (await ch.query<{ n: string }>(`SELECT count() AS n FROM calls WHERE site_id = {s:String}`, { s: MARKOV_SITE }))[0]!.n,
    });
    const put = await admin('PUT', `${MARKOV_SITE}/attribution-settings`, { lookbackDays: 3, defaultModel: 'first_click' });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    const job = await jobDone(MARKOV_SITE, put.body.recompute.jobId);
    assert.equal(job.status, 'done');
    assert.equal(job.calls, 2);
    assert.equal(job.changedCalls, 2, 'every row moves to settings revision 1');
    // cm2's paid-search visit (7 days before) left the 3-day lookback: its touches are retracted.
    assert.deepEqual((await creditOf(MARKOV_SITE, 'cm2'))['first_click'], { email: 1 });
    assert.deepEqual(
      (await credits(MARKOV_SITE, 'cm2')).map((r) => r.session_id),
      // One touch left, one row per model.
      Array(8).fill('m4b'),
    );
    assert.equal((await stored('cm2', () => true, MARKOV_SITE))['settings_revision'], 1);
    const first = await snapshot();

    const again = await admin('POST', `${MARKOV_SITE}/attribution/recompute`);
    assert.equal(again.status, 202);
    const rerun = await jobDone(MARKOV_SITE, again.body.jobId);
    assert.deepEqual([rerun.status, rerun.calls, rerun.changedCalls, rerun.creditRows], ['done', 2, 0, 0]);
    assert.deepEqual(await snapshot(), first, 'same settings and data: same rows, nothing inserted');
  });

  it('takes tags and comments on a call through the admin API, as events projected to ClickHouse', async () => {
    const call = encodeURIComponent('c-multi');
    assert.equal((await admin('PUT', `${SITE}/call-tags/lead/${call}`, { author: 'anna' })).status, 200);
    assert.equal((await admin('PUT', `${SITE}/call-tags/lead/${call}`, { author: 'anna' })).status, 200, 'again: still one tag');
    assert.equal((await admin('PUT', `${SITE}/call-tags/non-target/${call}`)).status, 200);
    assert.equal((await admin('DELETE', `${SITE}/call-tags/non-target/${call}`)).status, 200);
    const comment = await admin('POST', `${SITE}/call-comments/${call}`, { text: 'Wants a quote for 40 roses', author: 'anna' });
    assert.equal(comment.status, 201);
    assert.match(comment.body.commentId, /^[0-9a-f-]{36}$/);
    const got = await admin('GET', `${SITE}/call-annotations/${call}`);
    assert.equal(got.status, 200);
    assert.deepEqual(
      got.body.tags.map((t: Row) => [t['tag'], t['author']]),
      [['lead', 'anna']],
    );
    assert.deepEqual(
      got.body.comments.map((c: Row) => c['text']),
      ['Wants a quote for 40 roses'],
    );
    // This site's annotations (the learnt-model test records a revenue on another site on the same topic).
    const annotations = () => probe.events('callAnnotations').filter((e) => e.siteId === SITE);
    const events = await waitFor(() => (annotations().length >= 5 ? annotations() : undefined), {
      what: 'annotation events',
    });
    assert.deepEqual(
      events.map((e) => e.type),
      ['CallTagAdded', 'CallTagAdded', 'CallTagAdded', 'CallTagRemoved', 'CallCommentAdded'],
    );
    const record = probe.records.find((r) => r.topic === env.topic('callAnnotations') && r.key !== callKey(MARKOV_SITE, 'cm1'));
    assert.equal(record?.key, callKey(SITE, 'c-multi'));
    // An event on the topic from elsewhere (a CRM connector) reaches ClickHouse through the projection.
    await send(
      'callAnnotations',
      callKey(SITE, 'c-multi'),
      createEvent('CallTagAdded', { callId: 'c-multi', tag: 'from-crm', author: 'crm' }, { siteId: SITE, producer: 'crm-sync' }),
    );
    const projected = await waitFor(
      async () => {
        const r = await admin('GET', `${SITE}/call-annotations/${call}`);
        return r.body.tags.length === 2 ? r.body : undefined;
      },
      { what: 'the projected tag' },
    );
    assert.deepEqual(
      projected.tags.map((t: Row) => [t['tag'], t['author']]),
      [
        ['from-crm', 'crm'],
        ['lead', 'anna'],
      ],
    );
  });

  it('answers bad input to the new admin APIs with a JSON error that names the problem', async () => {
    const raw = (method: string, path: string, rawBody: string, headers: Record<string, string> = {}) =>
      http(method, `${service.url}/v1/admin/sites/${path}`, { headers: { ...auth, 'content-type': 'application/json', ...headers }, rawBody });
    const cases: Array<[ReturnType<typeof http>, number, RegExp]> = [
      [raw('PUT', `${SITE}/attribution-settings`, '{"lookbackDays": 30,'), 400, /JSON/i],
      [admin('PUT', `${SITE}/attribution-settings`, { lookbackDays: 181 }), 400, /lookbackDays: lookbackDays must be 1-180/],
      [admin('PUT', `${SITE}/attribution-settings`, { lookback: 30 }), 400, /lookback/],
      [admin('PUT', `${SITE}/attribution-settings`, { defaultModel: 'w_shaped' }), 400, /defaultModel/],
      [admin('PUT', `${SITE}/attribution-settings`, { positionBased: { firstShare: 0.8, lastShare: 0.4 } }), 400, /firstShare \+ lastShare/],
      [admin('PUT', `${SITE}/attribution-settings`, { workingHours: { mon: [{ from: '9am', to: '18:00' }] } }), 400, /workingHours\.mon\.0\.from/],
      [admin('PUT', `${SITE}/attribution-settings`, { holidays: ['2026-13-01'] }), 400, /holidays\.0/],
      [admin('PUT', `${SITE}/attribution-settings`, { callbackWindowHours: 0 }), 400, /callbackWindowHours/],
      [admin('PUT', `no-such-site/attribution-settings`, {}), 404, /site no-such-site is not configured/],
      [admin('GET', `no-such-site/attribution-settings`), 404, /not configured/],
      [admin('GET', `Bad%20Site/attribution-settings`), 400, /site id/],
      [admin('POST', `${SITE}/attribution/recompute`, { now: true }), 400, /now/],
      [admin('POST', `no-such-site/attribution/recompute`), 404, /not configured/],
      [admin('GET', `${SITE}/attribution/recompute/not-a-uuid`), 400, /job id/],
      [admin('GET', `${SITE}/attribution/recompute/${randomUUID()}`), 404, /no recompute/],
      [admin('GET', `no-such-site/attribution/data-driven-model`), 404, /not configured/],
      [admin('PUT', `${SITE}/call-tags/Lead!/c-multi`), 400, /tag/],
      [admin('PUT', `${SITE}/call-tags/lead/no-such-call`), 404, /no call no-such-call/],
      [admin('PUT', `no-such-site/call-tags/lead/c-multi`), 404, /not configured/],
      [admin('PUT', `${SITE}/call-tags/lead/c-multi`, { author: 'anna', colour: 'red' }), 400, /colour/],
      [admin('POST', `${SITE}/call-comments/c-multi`, { text: '   ' }), 400, /text must not be empty/],
      [admin('POST', `${SITE}/call-comments/c-multi`, { text: 'x'.repeat(2001) }), 400, /at most 2000/],
      [admin('POST', `${SITE}/call-comments/c-multi`), 400, /body is missing/],
      [raw('POST', `${SITE}/call-comments/c-multi`, '{"text": '), 400, /JSON/i],
      [admin('GET', `${SITE}/call-annotations/no-such-call`), 404, /no call/],
      [http('GET', `${service.url}/v1/sites/${SITE}/report/attribution?model=u_shaped`, { headers: auth }), 400, /model must be one of/],
    ];
    for (const [request, status, message] of cases) {
      const r = await request;
      assert.equal(r.status, status, JSON.stringify(r.body));
      assert.match(r.body.error.message, message);
    }
    for (const path of [`${SITE}/attribution-settings`, `${SITE}/attribution/data-driven-model`, `${SITE}/call-annotations/c-multi`]) {
      assert.equal((await admin('GET', path, undefined, {})).status, 401, path);
      assert.equal((await admin('GET', path, undefined, { authorization: 'Bearer wrong-token-wrong-token' })).status, 403, path);
    }
    assert.equal((await admin('PUT', `${SITE}/attribution-settings`, {}, { authorization: 'Bearer wrong-token-wrong-token' })).status, 403);
    assert.equal((await admin('POST', `${SITE}/attribution/recompute`, undefined, {})).status, 401);
    // Nothing of the refused requests changed the settings.
    assert.equal((await admin('GET', `${SITE}/attribution-settings`)).body.revision, 1);
  });
});
