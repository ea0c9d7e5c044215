import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { credentials, loadPackageDefinition, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { calltrack, callKey, createEvent, siteKey } from '@calltrack/contracts';
import { KafkaBus } from '@calltrack/kafka';
import type { RunningService } from '@calltrack/service-kit';
import { createKafkaTestEnv, freePort, http, testLogger, waitFor, type KafkaTestEnv } from '@calltrack/testing';
import { startAttribution } from '../attribution.app.js';
import { loadAttributionConfig } from '../config.js';
import { CONVERSIONS_API_INCLUDE_DIRS, CONVERSIONS_API_PROTO } from './conversions-api.grpc.js';

const ADMIN = 'grpc-admin-token-0123456789';
const API_TOKEN = 'bid-manager-token-0123456789';
const SITE = 'grpc-shop';
/** A site whose only number is a static one (a billboard): its call is credited to the number's source. */
const BILLBOARD_SITE = 'grpc-billboard';
const BILLBOARD_NUMBER = '+74958880000';

type Client = {
  ListCalls(req: object, md: Metadata, cb: (err: ServiceError | null, res: { calls: Array<Record<string, unknown>>; nextPageToken: string }) => void): void;
  close(): void;
};

describe('ConversionsService gRPC API (bid managers)', () => {
  let env: KafkaTestEnv;
  let bus: KafkaBus;
  let service: RunningService;
  let client: Client;
  const callIds = ['a', 'b', 'c'].map((x) => `generic:${x}-${randomUUID().slice(0, 6)}`);
  const billboardCallId = `generic:billboard-${randomUUID().slice(0, 6)}`;

  const list = (req: object, token: string = API_TOKEN) =>
    new Promise<{ calls: Array<Record<string, unknown>>; nextPageToken: string }>((resolve, reject) => {
      const md = new Metadata();
      if (token) md.set('authorization', `Bearer ${token}`);
      client.ListCalls(req, md, (err, res) => (err ? reject(err) : resolve(res)));
    });

  before(async () => {
    env = await createKafkaTestEnv('grpc');
    bus = new KafkaBus({ ...env.settings, clientId: 'grpc-test' }, testLogger);
    await bus.connect();
    await bus.producer.publish(
      'sites',
      siteKey(SITE),
      createEvent(
        'SiteConfigured',
        { name: 'G', country: 'RU', timeZone: 'Europe/Moscow', defaultNumber: '+74950000000', poolNumbers: ['+74951000001'] },
        { siteId: SITE, producer: 'test' },
      ),
    );
    await bus.producer.publish(
      'sites',
      siteKey(BILLBOARD_SITE),
      createEvent(
        'SiteConfigured',
        {
          name: 'B',
          country: 'RU',
          timeZone: 'Europe/Moscow',
          defaultNumber: '+74950000001',
          staticNumbers: [
            {
              number: BILLBOARD_NUMBER,
              utmSource: 'billboard',
              utmMedium: 'offline',
              utmCampaign: 'ring-road',
              channel: 'display',
              label: 'ring road',
              status: 'active',
            },
          ],
        },
        { siteId: BILLBOARD_SITE, producer: 'test' },
      ),
    );
    const port = await freePort();
    service = await startAttribution(
      loadAttributionConfig({
        ...env.env,
        ADMIN_TOKEN: ADMIN,
        GRPC_API_TOKEN: API_TOKEN,
        GRPC_PORT: String(port),
        PORT: '0',
        HTTP_HOST: '127.0.0.1',
        LOG_LEVEL: 'warn',
        ATTRIBUTION_STATE_WAIT_MS: '0',
        CLICKHOUSE_DATABASE: `grpc_${randomUUID().slice(0, 8)}`,
        CLICKHOUSE_DATA_DIR: process.env['CLICKHOUSE_DATA_DIR'] ?? '',
      }),
    );
    const pkg = loadPackageDefinition(
      loadSync(CONVERSIONS_API_PROTO, { longs: Number, defaults: true, includeDirs: CONVERSIONS_API_INCLUDE_DIRS }),
    ) as unknown as {
      calltrack: { api: { v1: { ConversionsService: new (addr: string, creds: unknown) => Client } } };
    };
    client = new pkg.calltrack.api.v1.ConversionsService(`127.0.0.1:${port}`, credentials.createInsecure());
    const now = Date.now();
    for (const [i, callId] of callIds.entries()) {
      const startedAtMs = now - (3 - i) * 60_000;
      // The newest call is answered after 5 s and talks 45 s (a target call); the others are missed.
      const answered = i === 2 ? { answeredAtMs: startedAtMs + 5_000, endedAtMs: startedAtMs + 50_000 } : { endedAtMs: startedAtMs + 20_000 };
      const status = i === 2 ? calltrack.events.v1.CallStatus.CALL_STATUS_COMPLETED : calltrack.events.v1.CallStatus.CALL_STATUS_MISSED;
      const call = {
        callId,
        provider: 'generic',
        providerCallId: callId,
        direction: calltrack.events.v1.CallDirection.CALL_DIRECTION_INBOUND,
        trackingNumber: '+74957770000',
        callerNumber: '+79160000000',
        status,
        startedAtMs,
        ...answered,
        sequence: 3,
      };
      await bus.producer.publish(
        'screenedCalls',
        callKey(SITE, callId),
        createEvent('CallScreened', { call, verdict: calltrack.events.v1.Verdict.VERDICT_CLEAN }, { siteId: SITE, producer: 'test' }),
      );
    }
    const billboardCall = {
      callId: billboardCallId,
      provider: 'generic',
      providerCallId: billboardCallId,
      direction: calltrack.events.v1.CallDirection.CALL_DIRECTION_INBOUND,
      trackingNumber: BILLBOARD_NUMBER,
      callerNumber: '+79160000001',
      status: calltrack.events.v1.CallStatus.CALL_STATUS_COMPLETED,
      startedAtMs: now - 60_000,
      answeredAtMs: now - 55_000,
      endedAtMs: now - 10_000,
      sequence: 3,
    };
    await bus.producer.publish(
      'screenedCalls',
      callKey(BILLBOARD_SITE, billboardCallId),
      createEvent('CallScreened', { call: billboardCall, verdict: calltrack.events.v1.Verdict.VERDICT_CLEAN }, { siteId: BILLBOARD_SITE, producer: 'test' }),
    );
    // The calls go to different partitions, so a later one may be evaluated first and repaired
    // when the earlier one lands (its dependants are evaluated again): wait for that settled state.
    await waitFor(
      async () => {
        const calls: Array<{ call_id: string; caller_type: string; lead_id: string }> =
          (await http('GET', `${service.url}/v1/sites/${SITE}/calls`, { headers: { authorization: `Bearer ${ADMIN}` } })).body?.calls ?? [];
        const typeOf = (id: string) => calls.find((c) => c.call_id === id)?.caller_type;
        return calls.length === 3 && typeOf(callIds[1]!) === 'repeat' && typeOf(callIds[2]!) === 'repeat' && new Set(calls.map((c) => c.lead_id)).size === 1;
      },
      { what: 'three calls stored, the later two as repeat calls, all in one lead', timeoutMs: 30_000 },
    );
    await waitFor(
      async () =>
        (await http('GET', `${service.url}/v1/sites/${BILLBOARD_SITE}/calls`, { headers: { authorization: `Bearer ${ADMIN}` } })).body?.calls?.[0]
          ?.match_method === 'static',
      { what: 'the billboard call stored as a static match', timeoutMs: 30_000 },
    );
  });

  after(async () => {
    client?.close();
    await service?.close();
    await bus?.close();
  });

  it('pages through the calls, newest first', async () => {
    const first = await list({ siteId: SITE, pageSize: 2 });
    assert.deepEqual(
      first.calls.map((c) => c['callId']),
      [callIds[2], callIds[1]],
    );
    assert.equal(first.calls[0]!['matchMethod'], 'unmatched');
    assert.match(String(first.calls[0]!['matchReason']), /\w/, 'an unmatched call says why');
    assert.equal(first.calls[0]!['matchConfidence'], 0);
    // Classification travels to bid managers: the answered 45 s call is a target call, the missed ones are not.
    assert.equal(first.calls[0]!['isTarget'], true);
    assert.equal(first.calls[0]!['isMissed'], false);
    assert.equal(first.calls[0]!['isFinal'], true);
    assert.equal(first.calls[0]!['direction'], 'inbound');
    assert.equal(Number(first.calls[0]!['answeredAtMs']) - Number(first.calls[0]!['startedAtMs']), 5_000);
    assert.equal(first.calls[0]!['waitSeconds'], 5);
    assert.equal(first.calls[1]!['isMissed'], true);
    assert.equal(first.calls[1]!['isTarget'], false);
    assert.equal(first.calls[1]!['answeredAtMs'], 0);
    assert.equal(first.calls[1]!['callbackStatus'], 'pending', 'missed a minute ago: the call-back window is still open');
    assert.equal(first.calls[1]!['callerType'], 'repeat', 'the second call of the same caller is a repeat');
    assert.match(String(first.calls[1]!['leadId']), /\w/);
    assert.equal(first.calls[1]!['leadId'], first.calls[0]!['leadId'], 'one person within the lead window is one lead');
    assert.equal(typeof first.calls[0]!['startedAtMs'], 'number');
    assert.ok(first.nextPageToken);
    const second = await list({ siteId: SITE, pageSize: 2, pageToken: first.nextPageToken });
    assert.deepEqual(
      second.calls.map((c) => c['callId']),
      [callIds[0]],
    );
    assert.equal(second.calls[0]!['callerType'], 'first');
    assert.equal(second.nextPageToken, '');
  });

  it('gives the credited origin in `origin` and, until calltrack.api.v2, in the deprecated flat fields', async () => {
    const { calls } = await list({ siteId: BILLBOARD_SITE });
    assert.equal(calls.length, 1);
    const row = calls[0]!;
    assert.equal(row['matchMethod'], 'static');
    const origin = row['origin'] as { utm: Record<string, string>; referrer: string; landingPage: string; clickIds: Record<string, string>; channel: string };
    assert.deepEqual(origin.utm, { source: 'billboard', medium: 'offline', campaign: 'ring-road', content: '', term: '' });
    assert.equal(origin.channel, 'display');
    assert.deepEqual(
      [row['utmSource'], row['utmMedium'], row['utmCampaign'], row['utmContent'], row['utmTerm'], row['channel'], row['referrer'], row['landingPage']],
      [
        origin.utm['source'],
        origin.utm['medium'],
        origin.utm['campaign'],
        origin.utm['content'],
        origin.utm['term'],
        origin.channel,
        origin.referrer,
        origin.landingPage,
      ],
    );
    assert.deepEqual(row['clickIds'], origin.clickIds);
    assert.equal(row['sourceLabel'], 'ring road');
  });

  it('refuses missing or wrong tokens and bad arguments with gRPC status codes', async () => {
    await assert.rejects(list({ siteId: SITE }, ''), (e: ServiceError) => e.code === status.UNAUTHENTICATED);
    await assert.rejects(list({ siteId: SITE }, 'not-the-token-at-all'), (e: ServiceError) => e.code === status.PERMISSION_DENIED);
    await assert.rejects(list({ siteId: 'Bad Site!' }), (e: ServiceError) => e.code === status.INVALID_ARGUMENT && /site_id/.test(e.details));
    await assert.rejects(list({ siteId: SITE, pageSize: 5000 }), (e: ServiceError) => e.code === status.INVALID_ARGUMENT && /page_size/.test(e.details));
    await assert.rejects(list({ siteId: SITE, pageToken: 'garbage' }), (e: ServiceError) => e.code === status.INVALID_ARGUMENT && /page_token/.test(e.details));
    await assert.rejects(list({ siteId: SITE, fromMs: 2000, toMs: 1000 }), (e: ServiceError) => e.code === status.INVALID_ARGUMENT);
    const otherSite = await list({ siteId: 'someone-else' });
    assert.deepEqual(otherSite.calls, [], 'another site sees none of these calls');
  });
});
