// The public endpoints as the tracker calls them: JSON sent as text/plain (no CORS
// preflight, sendBeacon), the session end, and bad input on each.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadNumberPoolConfig, startNumberPool } from '@calltrack/number-pool';
import type { RunningService } from '@calltrack/service-kit';
import { createKafkaTestEnv, http, testLogger, TopicProbe, waitFor, type KafkaTestEnv } from '@calltrack/testing';
import { calltrack, createEvent, decodeEvent, newEventId, visitorKey } from '@calltrack/contracts';
import { KafkaBus } from '@calltrack/kafka';
import { loadSessionTrackerConfig } from './config.js';
import { startSessionTracker } from './session-tracker.app.js';

const ADMIN = 'public-admin-token-0123456789';
const BROWSER = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36';

describe('session-tracker public endpoints: text/plain bodies, session end, bad input', () => {
  let env: KafkaTestEnv;
  let pool: RunningService;
  let tracker: RunningService;
  let probe: TopicProbe;
  const plain = (path: string, body: string) =>
    fetch(`${tracker.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain;charset=UTF-8', origin: 'https://shop.example', 'user-agent': BROWSER },
      body,
    });

  before(async () => {
    env = await createKafkaTestEnv('public');
    const base = { ...env.env, ADMIN_TOKEN: ADMIN, PORT: '0', HTTP_HOST: '127.0.0.1', LOG_LEVEL: 'warn' };
    pool = await startNumberPool(loadNumberPoolConfig(base));
    tracker = await startSessionTracker(loadSessionTrackerConfig({ ...base, LEASE_REPLY_TIMEOUT_MS: '5000' }));
    probe = await TopicProbe.start(env, ['sessions', 'poolCommands']);
    const put = await http('PUT', `${pool.url}/v1/admin/sites/plain`, {
      headers: { authorization: `Bearer ${ADMIN}` },
      body: {
        name: 'Plain',
        country: 'RU',
        timeZone: 'Europe/Moscow',
        defaultNumber: '+7 495 400-00-00',
        poolNumbers: ['+7 495 400-00-01', '+7 495 400-00-02', '+7 495 400-00-03', '+7 495 400-00-04', '+7 495 400-00-05'],
      },
    });
    assert.equal(put.status, 200);
    await waitFor(async () => (await plain('/v1/sessions', JSON.stringify({ siteId: 'plain', landingPage: 'https://shop.example/' }))).status === 201, {
      what: 'the site to reach session-tracker',
    });
  });

  after(async () => {
    await probe.stop();
    await tracker.close();
    await pool.close();
  });

  it('accepts JSON sent as text/plain (what a cross-origin tag and sendBeacon send) and answers with CORS headers', async () => {
    const res = await plain(
      '/v1/sessions',
      JSON.stringify({ siteId: 'plain', landingPage: 'https://shop.example/?utm_source=ya', visitorId: 'visitor-plain-1' }),
    );
    assert.equal(res.status, 201);
    assert.equal(res.headers.get('access-control-allow-origin'), 'https://shop.example');
    const body = (await res.json()) as { visitorId: string };
    assert.equal(body.visitorId, 'visitor-plain-1');
  });

  it('ends a session: SessionEnded, and a final extension of its lease', async () => {
    const started = await http('POST', `${tracker.url}/v1/sessions`, {
      body: { siteId: 'plain', landingPage: 'https://shop.example/', userAgent: BROWSER, visitorId: 'visitor-end-1' },
    });
    const { sessionId, leaseId } = started.body as { sessionId: string; leaseId?: string };
    assert.ok(leaseId, JSON.stringify(started.body));
    const end = await plain(`/v1/sessions/${sessionId}/end`, JSON.stringify({ siteId: 'plain', visitorId: 'visitor-end-1', leaseId }));
    assert.equal(end.status, 202);
    const ended = await waitFor(() => probe.events('sessions').find((e) => e.type === 'SessionEnded' && e.payload.sessionId === sessionId), {
      what: 'SessionEnded',
    });
    assert.equal((ended.payload as calltrack.events.v1.SessionEnded).visitorId, 'visitor-end-1');
    const record = probe.records.find((r) => r.topic === env.topic('sessions') && decodeEvent(r.value).eventId === ended.eventId);
    assert.equal(record?.key, visitorKey('plain', 'visitor-end-1'), "keyed like the visitor's SessionStarted");
    const final = await waitFor(() => probe.events('poolCommands').find((e) => e.type === 'LeaseExtendRequested' && e.payload.leaseId === leaseId), {
      what: 'the final extension',
    });
    assert.equal((final.payload as calltrack.events.v1.LeaseExtendRequested).final, true);
  });

  it('answers 404 to the end of a session it never started, publishing nothing', async () => {
    const hex = (Date.now() - 2 * 24 * 3600_000).toString(16).padStart(12, '0');
    const twoDaysOld = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7abc-8def-0123456789ab`;
    // A recent, well-formed UUIDv7 that session-tracker did not mint: its MAC does not verify.
    for (const sessionId of ['session-0001', twoDaysOld, newEventId()]) {
      const end = await plain(`/v1/sessions/${sessionId}/end`, JSON.stringify({ siteId: 'plain', visitorId: 'visitor-ghost-1' }));
      assert.equal(end.status, 404, sessionId);
      assert.equal(((await end.json()) as { error: { code: string } }).error.code, 'unknown_session');
    }
    // A real end of the same visitor (same key, so the same partition, read in order) shows the ghost ends were never published.
    const started = await http('POST', `${tracker.url}/v1/sessions`, {
      body: { siteId: 'plain', landingPage: 'https://shop.example/', userAgent: BROWSER, visitorId: 'visitor-ghost-1' },
    });
    assert.equal((await plain(`/v1/sessions/${started.body.sessionId}/end`, JSON.stringify({ siteId: 'plain', visitorId: 'visitor-ghost-1' }))).status, 202);
    await waitFor(() => probe.events('sessions').find((e) => e.type === 'SessionEnded' && e.payload.sessionId === started.body.sessionId), {
      what: 'the real SessionEnded',
    });
    assert.deepEqual(
      probe
        .events('sessions')
        .filter((e) => e.type === 'SessionEnded' && e.payload.visitorId === 'visitor-ghost-1')
        .map((e) => (e.payload as calltrack.events.v1.SessionEnded).sessionId),
      [started.body.sessionId],
    );
  });

  it('meets bad input with a 4xx JSON error that names the problem', async () => {
    const notJson = await plain('/v1/sessions', '{"siteId": ');
    assert.equal(notJson.status, 400);
    assert.equal(((await notJson.json()) as { error: { code: string } }).error.code, 'invalid_json');
    const unknownField = await plain('/v1/sessions/session-0001/end', JSON.stringify({ siteId: 'plain', colour: 'red' }));
    assert.equal(unknownField.status, 400);
    assert.match(((await unknownField.json()) as { error: { message: string } }).error.message, /colour/);
    const badId = await plain('/v1/sessions/x/end', JSON.stringify({ siteId: 'plain' }));
    assert.equal(badId.status, 400);
    assert.match(((await badId.json()) as { error: { message: string } }).error.message, /session id/);
    const unknownSite = await plain('/v1/sessions/session-0001/end', JSON.stringify({ siteId: 'nowhere' }));
    assert.equal(unknownSite.status, 404);
    const xml = await fetch(`${tracker.url}/v1/sessions`, { method: 'POST', headers: { 'content-type': 'application/xml' }, body: '<a/>' });
    assert.equal(xml.status, 415);
    const empty = await plain('/v1/sessions/session-0001/end', '');
    assert.equal(empty.status, 400);
    assert.equal(((await empty.json()) as { error: { code: string } }).error.code, 'invalid_json');
    // text/plain has the same body limit as JSON (SESSION_BODY_LIMIT_BYTES, 16 KiB by default).
    const huge = await plain('/v1/sessions', JSON.stringify({ siteId: 'plain', landingPage: `https://shop.example/?q=${'a'.repeat(20_000)}` }));
    assert.equal(huge.status, 413);
    assert.equal(((await huge.json()) as { error: { code: string } }).error.code, 'body_too_large');
    const noLease = await plain('/v1/sessions/session-0001/heartbeat', JSON.stringify({ siteId: 'plain' }));
    assert.equal(noLease.status, 400);
    assert.match(((await noLease.json()) as { error: { message: string } }).error.message, /leaseId/);
  });

  it('gives a visitor antifraud flagged as a bot the default number and no lease, whatever their user agent', async () => {
    const bus = new KafkaBus({ ...env.settings, clientId: 'flag-test' }, testLogger);
    await bus.connect();
    try {
      await bus.producer.publish(
        'antifraudVerdicts',
        visitorKey('plain', 'visitor-flagged-1'),
        createEvent(
          'SessionScreened',
          { sessionId: 'earlier-session', visitorId: 'visitor-flagged-1', verdict: calltrack.events.v1.Verdict.VERDICT_BOT, reason: 'datacenter address' },
          { siteId: 'plain', producer: 'test' },
        ),
      );
      const visit = () =>
        http('POST', `${tracker.url}/v1/sessions`, {
          body: { siteId: 'plain', landingPage: 'https://shop.example/?gclid=1', userAgent: BROWSER, visitorId: 'visitor-flagged-1' },
        });
      const flagged = await waitFor(
        async () => {
          const r = await visit();
          return r.body.reason === 'flagged_by_antifraud' ? r : undefined;
        },
        { what: 'the verdict to reach session-tracker' },
      );
      assert.deepEqual([flagged.body.method, flagged.body.number, flagged.body.leaseId], ['default_number', '+74954000000', undefined]);
      assert.ok(!probe.events('poolCommands').some((e) => e.type === 'LeaseRequested' && e.payload.sessionId === flagged.body.sessionId), 'no lease requested');
      const other = await http('POST', `${tracker.url}/v1/sessions`, {
        body: { siteId: 'plain', landingPage: 'https://shop.example/', userAgent: BROWSER, visitorId: 'visitor-clean-1' },
      });
      assert.notEqual(other.body.reason, 'flagged_by_antifraud');
    } finally {
      await bus.close();
    }
  });
});
