// session-tracker's side of lease deadlines, on the real broker: the request carries the
// moment the visitor is shown the default number (minus the answer's way back), and a
// grant that arrives after the visitor got the default number is given back, never shown.
// The test plays number-pool (it reads pool-commands and answers on pool-events).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createEvent, encodeEvent, siteKey, type calltrack } from '@calltrack/contracts';
import { KafkaBus } from '@calltrack/kafka';
import type { RunningService } from '@calltrack/service-kit';
import { createKafkaTestEnv, http, produceRaw, testLogger, TopicProbe, waitFor, type KafkaTestEnv } from '@calltrack/testing';
import { loadSessionTrackerConfig } from './config.js';
import { startSessionTracker } from './session-tracker.app.js';

const SITE = 'late-shop';
const TIMEOUT_MS = 400;
const BROWSER = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36';

describe('session-tracker lease deadlines on the real broker', () => {
  let env: KafkaTestEnv;
  let tracker: RunningService;
  let probe: TopicProbe;
  let bus: KafkaBus;

  before(async () => {
    env = await createKafkaTestEnv('lease-deadline');
    await produceRaw(env, 'sites', [
      {
        key: siteKey(SITE),
        value: encodeEvent(
          createEvent(
            'SiteConfigured',
            { name: SITE, country: 'RU', timeZone: 'Europe/Moscow', defaultNumber: '+74959000000', poolNumbers: ['+74959000001'] },
            { siteId: SITE, producer: 'test' },
          ),
        ),
      },
    ]);
    bus = new KafkaBus({ ...env.settings, clientId: 'lease-deadline-test' }, testLogger);
    await bus.connect();
    probe = await TopicProbe.start(env, ['poolCommands']);
    tracker = await startSessionTracker(
      loadSessionTrackerConfig({ ...env.env, PORT: '0', HTTP_HOST: '127.0.0.1', LOG_LEVEL: 'error', LEASE_REPLY_TIMEOUT_MS: String(TIMEOUT_MS) }),
    );
    // Ready includes the lease-replies consumer having joined: answers published from now on reach it.
    await waitFor(async () => (await http('GET', `${tracker.url}/readyz`)).status === 200, { what: 'session-tracker ready' });
  });

  after(async () => {
    await tracker.close();
    await probe.stop();
    await bus.close();
  });

  it('sends the deadline with the request, shows the default number at the timeout, and gives back a grant that comes later', async () => {
    const visit = await waitFor(
      async () => {
        const r = await http('POST', `${tracker.url}/v1/sessions`, { body: { siteId: SITE, landingPage: 'https://shop.example/', userAgent: BROWSER } });
        return r.status === 201 && r.body.reason === 'pool_timeout' ? r : undefined;
      },
      { what: 'a visit answered with the default number (nobody answers the request)' },
    );
    assert.equal(visit.body.number, '+74959000000');
    assert.equal(visit.body.leaseId, undefined);
    const requested = await waitFor(
      () => probe.events('poolCommands').find((e) => e.type === 'LeaseRequested' && e.payload.sessionId === visit.body.sessionId),
      { what: 'the lease request' },
    );
    const request = requested.payload as calltrack.events.v1.LeaseRequested;
    // Granting must end a little before the visitor is shown the default number: the answer needs time to come back.
    assert.equal(Number(request.deadlineMs), Number(request.requestedAtMs) + TIMEOUT_MS - Math.min(250, Math.floor(TIMEOUT_MS / 5)));

    // The grant arrives after the visitor was answered: it must not stay a lease nobody saw.
    const grantedAtMs = Number(request.deadlineMs) - 1;
    await bus.producer.publish(
      'poolEvents',
      siteKey(SITE),
      createEvent(
        'LeaseGranted',
        {
          requestId: request.requestId,
          leaseId: request.requestId,
          sessionId: request.sessionId,
          visitorId: request.visitorId,
          trackingNumber: '+74959000001',
          grantedAtMs,
          expiresAtMs: grantedAtMs + 900_000,
          requestDeadlineMs: Number(request.deadlineMs),
        },
        { siteId: SITE, producer: 'test' },
      ),
    );
    const release = await waitFor(
      () => probe.events('poolCommands').find((e) => e.type === 'LeaseReleaseRequested' && e.payload.leaseId === request.requestId),
      { what: 'the late grant given back' },
    );
    assert.equal((release.payload as calltrack.events.v1.LeaseReleaseRequested).sessionId, visit.body.sessionId);
  });
});
