import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { calltrack, callKey, createEvent, siteKey, visitOriginOf, visitorKey, type DomainEvent, type TopicKey } from '@calltrack/contracts';
import { KafkaBus } from '@calltrack/kafka';
import type { RunningService } from '@calltrack/service-kit';
import { createKafkaTestEnv, http, produceRaw, testLogger, TopicProbe, waitFor, type KafkaTestEnv } from '@calltrack/testing';
import { startAttribution } from './attribution.app.js';
import { loadAttributionConfig } from './config.js';

const { CallStatus, Verdict, MatchMethod } = calltrack.events.v1;
const ADMIN = 'attribution-admin-token-0123456789';
const auth = { authorization: `Bearer ${ADMIN}` };
const SITE = 'shop';
const MIN = 60_000;
const STATE_WAIT_MS = 4000;

const NUMBER = {
  google: '+74951000001',
  late: '+74951000002',
  released: '+74951000003',
  report: '+74951000004',
  static: '+74957770000',
  default: '+74950000000',
  untracked: '+74959999999',
};

type Row = Record<string, unknown>;
type Attributed = DomainEvent<'CallAttributed'>;

// The suite shares the run's embedded engine (scripts/test.sh sets CLICKHOUSE_DATA_DIR);
// its own database keeps its tables apart from other test files.
process.env['CLICKHOUSE_DATA_DIR'] ??= mkdtempSync(join(tmpdir(), 'calltrack-chdb-'));

describe('attribution on the real broker and the embedded ClickHouse engine', () => {
  let env: KafkaTestEnv;
  let bus: KafkaBus;
  let probe: TopicProbe;
  let service: RunningService;
  const now = Date.now();

  const send = (topic: TopicKey, key: string, event: DomainEvent) => bus.producer.publish(topic, key, event);
  const meta = { siteId: SITE, producer: 'test' };

  /** A visit from where `origin` says; `schemaVersion: 1` publishes it as a record written before VisitOrigin (flat fields). */
  const visit = (
    sessionId: string,
    visitorId: string,
    startedAtMs: number,
    { userAgent = 'Mozilla/5.0', schemaVersion, ...origin }: calltrack.events.v1.IVisitOrigin & { userAgent?: string; schemaVersion?: 1 } = {},
  ) =>
    send(
      'sessions',
      visitorKey(SITE, visitorId),
      schemaVersion === 1
        ? { ...createEvent('SessionStarted', { sessionId, visitorId, startedAtMs, userAgent, ...origin }, meta), schemaVersion }
        : createEvent('SessionStarted', { sessionId, visitorId, startedAtMs, userAgent, origin }, meta),
    );
  const grant = (leaseId: string, sessionId: string, visitorId: string, trackingNumber: string, grantedAtMs: number, expiresAtMs: number) =>
    send(
      'poolEvents',
      siteKey(SITE),
      createEvent('LeaseGranted', { requestId: leaseId, leaseId, sessionId, visitorId, trackingNumber, grantedAtMs, expiresAtMs }, meta),
    );

  const screened = (
    callId: string,
    trackingNumber: string,
    opts: { startedAtMs?: number; status?: number; sequence?: number; verdict?: number; reason?: string; answered?: boolean; recordingUrl?: string } = {},
  ): DomainEvent<'CallScreened'> => {
    const started = opts.startedAtMs ?? now - MIN;
    const status = opts.status ?? CallStatus.CALL_STATUS_COMPLETED;
    const answered = opts.answered ?? status !== CallStatus.CALL_STATUS_MISSED;
    const ended = status === CallStatus.CALL_STATUS_RINGING || status === CallStatus.CALL_STATUS_ANSWERED ? 0 : started + 65_000;
    return createEvent(
      'CallScreened',
      {
        call: {
          callId,
          provider: 'generic',
          providerCallId: callId,
          trackingNumber,
          callerNumber: '+79165554433',
          status,
          startedAtMs: started,
          answeredAtMs: answered && status !== CallStatus.CALL_STATUS_RINGING ? started + 5_000 : 0,
          endedAtMs: ended,
          recordingUrl: opts.recordingUrl ?? '',
          sequence: opts.sequence ?? 3,
        },
        verdict: opts.verdict ?? Verdict.VERDICT_CLEAN,
        reason: opts.reason ?? '',
      },
      meta,
    );
  };
  const sendCall = (e: DomainEvent<'CallScreened'>) => send('screenedCalls', callKey(SITE, e.payload.call!.callId!), e);

  const stored = (callId: string, site = SITE, pred: (row: Row) => boolean = () => true): Promise<Row> =>
    waitFor(
      async () => {
        const r = await http('GET', `${service.url}/v1/sites/${site}/calls/${encodeURIComponent(callId)}`, { headers: auth });
        return r.status === 200 && pred(r.body as Row) ? (r.body as Row) : undefined;
      },
      { what: `call ${callId} in ClickHouse`, timeoutMs: 30_000 },
    );
  const attributedOf = (callId: string): Attributed[] =>
    probe.events('attributedCalls').filter((e): e is Attributed => e.type === 'CallAttributed' && e.payload.call?.callId === callId);

  before(async () => {
    env = await createKafkaTestEnv('attribution');
    bus = new KafkaBus({ ...env.settings, clientId: 'attribution-test' }, testLogger);
    await bus.connect();
    probe = await TopicProbe.start(env, ['attributedCalls', { dlq: 'screenedCalls' }, { dlq: 'poolEvents' }]);
    await send(
      'sites',
      siteKey(SITE),
      createEvent(
        'SiteConfigured',
        {
          name: 'Shop',
          country: 'RU',
          timeZone: 'Europe/Moscow',
          defaultNumber: NUMBER.default,
          poolNumbers: [NUMBER.google, NUMBER.late, NUMBER.released, NUMBER.report],
          staticNumbers: [
            {
              number: NUMBER.static,
              utmSource: 'billboard',
              utmMedium: 'offline',
              utmCampaign: 'ring-road',
              channel: 'display',
              label: 'billboard on the ring road',
            },
          ],
        },
        meta,
      ),
    );
    service = await startAttribution(
      loadAttributionConfig({
        ...env.env,
        ADMIN_TOKEN: ADMIN,
        PORT: '0',
        HTTP_HOST: '127.0.0.1',
        LOG_LEVEL: 'warn',
        CLICKHOUSE_DATABASE: `attribution_${randomUUID().slice(0, 8)}`,
        CLICKHOUSE_DATA_DIR: process.env['CLICKHOUSE_DATA_DIR'],
        ATTRIBUTION_STATE_WAIT_MS: String(STATE_WAIT_MS),
      }),
    );
    // Migrations applied, sites loaded and both consumer groups joined before anything is published.
    await waitFor(async () => (await http('GET', `${service.url}/readyz`)).status === 200, { what: 'attribution ready', timeoutMs: 60_000 });
  });

  after(async () => {
    await service?.close();
    await probe?.stop();
    await bus?.close();
  });

  it('reports ready once migrated and consuming', async () => {
    const r = await http('GET', `${service.url}/readyz`);
    assert.equal(r.status, 200);
    for (const check of ['clickhouse_migrated', 'state_consumer', 'call_consumer', 'sites_loaded']) assert.equal(r.body.checks[check], true, check);
  });

  it('credits a call to the visit that held the number, in ClickHouse and on attributed-calls', async () => {
    await visit('s-google', 'v-google', now - 10 * MIN, {
      utm: { source: 'google', medium: 'cpc', campaign: 'brand', term: 'roses' },
      landingPage: 'https://shop.example/?utm_source=google&gclid=g1',
      referrer: 'https://www.google.com/',
      clickIds: { gclid: 'g1' },
      analyticsIds: { gaClientId: '1.2' },
      channel: 'paid_search',
    });
    await grant('l-google', 's-google', 'v-google', NUMBER.google, now - 10 * MIN, now + 5 * MIN);
    const e = screened('c-google', NUMBER.google);
    await sendCall(e);

    const row = await stored('c-google');
    assert.equal(row['utm_source'], 'google');
    assert.equal(row['utm_campaign'], 'brand');
    assert.equal(row['utm_term'], 'roses');
    assert.equal(row['channel'], 'paid_search');
    assert.equal(row['match_method'], 'dynamic');
    assert.equal(row['match_reason'], 'lease_active');
    assert.equal(row['session_id'], 's-google');
    assert.equal(row['lease_id'], 'l-google');
    assert.deepEqual(row['click_ids'], { gclid: 'g1' });
    assert.equal(row['verdict'], 'clean');
    assert.equal(row['status'], 'completed');
    assert.equal(row['is_final'], true);
    assert.equal(row['talk_seconds'], 60);
    assert.equal(row['wait_seconds'], 5);
    assert.equal(row['started_at'], new Date(now - MIN).toISOString());

    const out = await waitFor(() => attributedOf('c-google')[0], { what: 'CallAttributed of c-google' });
    assert.equal(out.eventId, `${e.eventId}:attributed`);
    assert.equal(out.causationId, e.eventId);
    assert.equal(out.payload.final, true);
    assert.equal(out.payload.verdict, Verdict.VERDICT_CLEAN);
    assert.equal(out.payload.method, MatchMethod.MATCH_METHOD_DYNAMIC);
    assert.equal(out.schemaVersion, 2);
    const origin = visitOriginOf(out.payload);
    assert.equal(origin.utm.source, 'google');
    assert.equal(origin.clickIds['gclid'], 'g1');
    assert.equal(origin.analyticsIds.gaClientId, '1.2');
    assert.equal(origin.channel, 'paid_search');
    const record = probe.records.find((r) => r.topic === env.topic('attributedCalls') && r.headers['event_id'] === out.eventId);
    assert.equal(record?.key, callKey(SITE, 'c-google'));
  });

  it('waits for a lease still on its way when a fresh call arrives first', async () => {
    // The call is published before its visit and lease: attribution polls ClickHouse until they land.
    await sendCall(screened('c-late', NUMBER.late, { startedAtMs: now - 30_000 }));
    await new Promise((r) => setTimeout(r, 300));
    await visit('s-late', 'v-late', now - 2 * MIN, { utm: { source: 'vk', medium: 'social' }, channel: 'social' });
    await grant('l-late', 's-late', 'v-late', NUMBER.late, now - 2 * MIN, now + 13 * MIN);
    const row = await stored('c-late');
    assert.equal(row['match_method'], 'dynamic', JSON.stringify(row));
    assert.equal(row['session_id'], 's-late');
    assert.equal(row['utm_source'], 'vk');
  });

  it('matches a call after the lease was released but within the grace period, and not after it', async () => {
    // A visit recorded before schema version 2 (replays read years of them): its origin counts alike.
    await visit('s-yandex', 'v-yandex', now - 30 * MIN, { utm: { source: 'yandex', medium: 'cpc' }, channel: 'paid_search', schemaVersion: 1 });
    await grant('l-yandex', 's-yandex', 'v-yandex', NUMBER.released, now - 30 * MIN, now - 15 * MIN);
    await send(
      'poolEvents',
      siteKey(SITE),
      createEvent('LeaseExpired', { leaseId: 'l-yandex', sessionId: 's-yandex', trackingNumber: NUMBER.released, releasedAtMs: now - 15 * MIN }, meta),
    );
    // Grace is 10 minutes: 5 minutes after the release still counts, 13 minutes does not.
    await sendCall(screened('c-grace', NUMBER.released, { startedAtMs: now - 10 * MIN }));
    await sendCall(screened('c-too-late', NUMBER.released, { startedAtMs: now - 2 * MIN }));
    const grace = await stored('c-grace');
    assert.equal(grace['match_method'], 'dynamic');
    assert.equal(grace['match_reason'], 'lease_released_within_grace');
    assert.deepEqual([grace['utm_source'], grace['utm_medium'], grace['channel']], ['yandex', 'cpc', 'paid_search']);
    const late = await stored('c-too-late');
    assert.equal(late['match_method'], 'unmatched');
    assert.equal(late['match_reason'], 'no_lease_for_number');
    assert.equal(late['session_id'], '');
  });

  it('credits a static number to its source, channel and label and says why other calls are unmatched', async () => {
    await sendCall(screened('c-static', NUMBER.static));
    await sendCall(screened('c-untracked', NUMBER.untracked));
    await sendCall(screened('c-default', NUMBER.default));
    const fixed = await stored('c-static');
    assert.equal(fixed['match_method'], 'static');
    assert.equal(fixed['match_reason'], 'static_number');
    assert.equal(fixed['utm_source'], 'billboard');
    assert.equal(fixed['utm_campaign'], 'ring-road');
    // The channel and label the number was given, not "other" from its tags.
    assert.equal(fixed['channel'], 'display');
    assert.equal(fixed['source_label'], 'billboard on the ring road');
    const published = await waitFor(() => attributedOf('c-static')[0], { what: 'CallAttributed of c-static' });
    assert.equal(visitOriginOf(published.payload).channel, 'display');
    assert.equal(published.payload.sourceLabel, 'billboard on the ring road');
    const untracked = await stored('c-untracked');
    assert.equal(untracked['match_method'], 'unmatched');
    assert.equal(untracked['match_reason'], 'number_not_tracked');
    assert.equal(untracked['utm_source'], '');
    assert.equal((await stored('c-default'))['match_reason'], 'default_number');
    const out = await waitFor(() => attributedOf('c-untracked')[0], { what: 'CallAttributed of c-untracked' });
    assert.equal(out.payload.method, MatchMethod.MATCH_METHOD_UNMATCHED);
    assert.equal(out.payload.matchReason, 'number_not_tracked');
  });

  it('stores and publishes a spam call with its verdict', async () => {
    await sendCall(screened('c-spam', NUMBER.google, { verdict: Verdict.VERDICT_SPAM, reason: 'blocklisted caller' }));
    const row = await stored('c-spam');
    assert.equal(row['verdict'], 'spam');
    assert.equal(row['verdict_reason'], 'blocklisted caller');
    assert.equal(row['match_method'], 'dynamic', 'spam is still attributed, so reports can show where it came from');
    const out = await waitFor(() => attributedOf('c-spam')[0], { what: 'CallAttributed of c-spam' });
    assert.equal(out.payload.verdict, Verdict.VERDICT_SPAM);
    assert.equal(out.payload.verdictReason, 'blocklisted caller');
  });

  it('keeps one row per call for a duplicate, and never lets an older report win or be published', async () => {
    const completed = screened('c-order', NUMBER.google, { sequence: 3, recordingUrl: 'https://rec.example/1.mp3' });
    await sendCall(completed);
    await stored('c-order');
    // A late ringing report (older sequence), then the same completed report again (a redelivery).
    const ringing = screened('c-order', NUMBER.google, { sequence: 1, status: CallStatus.CALL_STATUS_RINGING });
    await sendCall(ringing);
    await sendCall(completed);
    // Same key, same partition: once the duplicate is out, the ringing report was handled too.
    await waitFor(() => attributedOf('c-order').length >= 2, { what: 'both copies of the completed report' });

    const events = attributedOf('c-order');
    assert.deepEqual([...new Set(events.map((e) => e.eventId))], [`${completed.eventId}:attributed`], 'one event id; nothing for the stale report');
    assert.ok(events.every((e) => e.payload.call?.status === CallStatus.CALL_STATUS_COMPLETED));
    const row = await stored('c-order');
    assert.equal(row['status'], 'completed');
    assert.equal(row['recording_url'], 'https://rec.example/1.mp3');
    const list = await http('GET', `${service.url}/v1/sites/${SITE}/calls?limit=1000`, { headers: auth });
    assert.equal(list.status, 200);
    assert.equal(list.body.calls.filter((c: Row) => c['call_id'] === 'c-order').length, 1, 'FINAL shows one row per call');
  });

  it('replaces an earlier state of a call with a later one, keeping its start', async () => {
    await sendCall(screened('c-progress', NUMBER.google, { sequence: 1, status: CallStatus.CALL_STATUS_RINGING, startedAtMs: now - 3 * MIN }));
    const ringing = await stored('c-progress');
    assert.equal(ringing['is_final'], false);
    // The final report moved the start by a second: the row stays keyed by the first start.
    await sendCall(screened('c-progress', NUMBER.google, { sequence: 2, status: CallStatus.CALL_STATUS_MISSED, startedAtMs: now - 3 * MIN + 1000 }));
    const missed = await stored('c-progress', SITE, (r) => r['status'] === 'missed');
    assert.equal(missed['is_final'], true);
    assert.equal(missed['started_at'], new Date(now - 3 * MIN).toISOString());
    assert.equal(missed['wait_seconds'], 65);
    const list = await http('GET', `${service.url}/v1/sites/${SITE}/calls?limit=1000`, { headers: auth });
    assert.equal(list.body.calls.filter((c: Row) => c['call_id'] === 'c-progress').length, 1);
    // CallAttributed is published after the row is inserted: the row can be read before the event arrives.
    const attributed = await waitFor(() => (attributedOf('c-progress').length >= 2 ? attributedOf('c-progress') : undefined), {
      what: "c-progress's second CallAttributed",
    });
    assert.deepEqual(
      attributed.map((e) => e.payload.final),
      [false, true],
    );
  });

  it('dead-letters undecodable and unusable records and goes on', async () => {
    await produceRaw(env, 'screenedCalls', [{ key: `${SITE}:junk`, value: Buffer.from('garbage') }]);
    const noNumber = createEvent('CallScreened', { call: { callId: 'c-no-number', startedAtMs: now }, verdict: Verdict.VERDICT_CLEAN }, meta);
    await send('screenedCalls', callKey(SITE, 'c-no-number'), noNumber);
    await send(
      'poolEvents',
      siteKey(SITE),
      createEvent('LeaseGranted', { requestId: 'x', leaseId: '', trackingNumber: NUMBER.google, grantedAtMs: now, expiresAtMs: now + MIN }, meta),
    );
    await sendCall(screened('c-after-junk', NUMBER.google));
    await stored('c-after-junk');
    const junk = await waitFor(() => probe.deadLetters('screenedCalls').find((r) => r.key === `${SITE}:junk`), {
      what: 'the undecodable record dead-lettered',
    });
    assert.equal(junk.headers['dlq_reason'], 'undecodable');
    const unusable = await waitFor(() => probe.deadLetters('screenedCalls').find((r) => r.headers['event_id'] === noNumber.eventId), {
      what: 'the call without a number dead-lettered',
    });
    assert.equal(unusable.headers['dlq_reason'], 'non_retriable');
    assert.match(unusable.headers['dlq_error'] ?? '', /trackingNumber is missing/);
    const lease = await waitFor(() => probe.deadLetters('poolEvents')[0], { what: 'the lease without an id dead-lettered' });
    assert.match(lease.headers['dlq_error'] ?? '', /leaseId is missing/);
    assert.equal(attributedOf('c-no-number').length, 0);
  });

  it('lists calls newest first and reads one call', async () => {
    const list = await http('GET', `${service.url}/v1/sites/${SITE}/calls?limit=3`, { headers: auth });
    assert.equal(list.status, 200);
    assert.equal(list.body.calls.length, 3);
    const starts = list.body.calls.map((c: Row) => Date.parse(String(c['started_at'])));
    assert.deepEqual(
      starts,
      [...starts].sort((a, b) => b - a),
    );
    const from = new Date(now - 12 * MIN).toISOString();
    const to = new Date(now - 9 * MIN).toISOString();
    const window = await http('GET', `${service.url}/v1/sites/${SITE}/calls?from=${from}&to=${to}`, { headers: auth });
    assert.deepEqual(
      window.body.calls.map((c: Row) => c['call_id']),
      ['c-grace'],
    );
    const other = await http('GET', `${service.url}/v1/sites/other-site/calls/c-google`, { headers: auth });
    assert.equal(other.status, 404, 'a call is only visible under its own site');
    // Provider call ids run longer than the router's 100-character parameters and may hold a slash.
    const longId = `generic:${'7'.repeat(120)}/x`;
    await sendCall(screened(longId, NUMBER.static));
    assert.equal((await stored(longId))['call_id'], longId);
  });

  it('reports visits and calls per channel and source, without bots and with spam apart', async () => {
    const t = now - 5 * MIN;
    await visit('s-r1', 'v-r1', t, { utm: { source: 'newsletter', medium: 'email' }, channel: 'email' });
    await visit('s-r2', 'v-r2', t, { utm: { source: 'newsletter', medium: 'email' }, channel: 'email' });
    await visit('s-bot', 'v-bot', t, { utm: { source: 'newsletter', medium: 'email' }, channel: 'email', userAgent: 'Googlebot' });
    await send(
      'antifraudVerdicts',
      visitorKey(SITE, 'v-bot'),
      createEvent('SessionScreened', { sessionId: 's-bot', visitorId: 'v-bot', verdict: Verdict.VERDICT_BOT, reason: 'bot user agent' }, meta),
    );
    await grant('l-r1', 's-r1', 'v-r1', NUMBER.report, t, t + 15 * MIN);
    await sendCall(screened('c-r-answered', NUMBER.report, { startedAtMs: t + MIN }));
    await sendCall(screened('c-r-missed', NUMBER.report, { startedAtMs: t + 2 * MIN, status: CallStatus.CALL_STATUS_MISSED }));
    await sendCall(screened('c-r-spam', NUMBER.report, { startedAtMs: t + 3 * MIN, verdict: Verdict.VERDICT_SPAM }));
    for (const id of ['c-r-answered', 'c-r-missed', 'c-r-spam']) await stored(id, SITE, (r) => r['utm_source'] === 'newsletter');

    const from = new Date(now - 6 * MIN).toISOString();
    const to = new Date(now).toISOString();
    const report = await waitFor(
      async () => {
        const r = await http('GET', `${service.url}/v1/sites/${SITE}/report/channels?from=${from}&to=${to}`, { headers: auth });
        const row = r.body?.rows?.find((x: Row) => x['utm_source'] === 'newsletter');
        return row && row.visits === 2 ? r : undefined;
      },
      { what: 'the bot verdict in the report' },
    );
    assert.equal(report.status, 200);
    assert.deepEqual(
      report.body.rows.find((x: Row) => x['utm_source'] === 'newsletter'),
      {
        channel: 'email',
        utm_source: 'newsletter',
        utm_medium: 'email',
        visits: 2,
        calls: 2,
        answered_calls: 1,
        spam_calls: 1,
      },
    );
  });

  it('answers bad requests with a 4xx JSON error that names the problem', async () => {
    const get = (path: string, headers: Record<string, string> = auth) => http('GET', `${service.url}/v1/sites/${path}`, { headers });
    const cases: Array<[string, number, RegExp]> = [
      [`${SITE}/calls?from=yesterday`, 400, /from/],
      [`${SITE}/calls?limit=5000`, 400, /limit/],
      [`${SITE}/calls?limit=0`, 400, /limit/],
      [`${SITE}/calls?limit=ten`, 400, /limit/],
      [`${SITE}/calls?from=2025-02-01T00:00:00Z&to=2025-01-01T00:00:00Z`, 400, /from must be before to/],
      [`${SITE}/calls?from=2020-01-01T00:00:00Z&to=2025-01-01T00:00:00Z`, 400, /at most 366 days/],
      [`${SITE}/calls?sort=asc`, 400, /sort/],
      [`${SITE}/report/channels?to=tomorrow`, 400, /to/],
      [`Bad%20Site/calls`, 400, /site id/],
      [`${SITE}/calls/${'x'.repeat(300)}`, 400, /call id: .*at most 256 characters/],
      [`${SITE}/calls/`, 400, /call id/],
      [`${SITE}/calls/no-such-call`, 404, /no call no-such-call/],
    ];
    for (const [path, status, message] of cases) {
      const r = await get(path);
      assert.equal(r.status, status, path);
      assert.match(r.body.error.message, message, path);
    }
    assert.equal((await get(`${SITE}/calls`, {})).status, 401);
    assert.equal((await get(`${SITE}/calls`, { authorization: 'Bearer wrong-token-wrong-token' })).status, 403);
  });
});
