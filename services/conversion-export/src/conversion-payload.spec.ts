import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { calltrack, createEvent, type AnyDomainEvent } from '@calltrack/contracts';
import { conversionPayload, isRetryableStatus, safeDestination } from './conversion-payload.js';
import { DeliveryState } from './delivery-state.js';

const { CallStatus, MatchMethod, Verdict } = calltrack.events.v1;

describe('conversion payload', () => {
  it('maps an attributed call to the documented body', () => {
    const e = createEvent(
      'CallAttributed',
      {
        call: {
          callId: 'generic:42',
          callerNumber: '+79165554433',
          trackingNumber: '+74951000001',
          status: CallStatus.CALL_STATUS_COMPLETED,
          startedAtMs: Date.UTC(2026, 0, 1, 10),
          answeredAtMs: Date.UTC(2026, 0, 1, 10, 0, 5),
          endedAtMs: Date.UTC(2026, 0, 1, 10, 1, 35),
        },
        verdict: Verdict.VERDICT_CLEAN,
        method: MatchMethod.MATCH_METHOD_DYNAMIC,
        sessionId: 's1',
        visitorId: 'v1',
        origin: { utm: { source: 'google', medium: 'cpc', term: 'sofa' }, clickIds: { gclid: 'abc' }, analyticsIds: { gaClientId: '123.456' } },
        final: true,
      },
      { siteId: 'shop', producer: 't' },
    );
    const body = conversionPayload(e);
    // A schema version 1 record (the origin in flat fields) gives the same body.
    const { origin, ...rest } = e.payload;
    const v1 = { ...e, payload: new calltrack.events.v1.CallAttributed({ ...rest, ...origin }) };
    assert.deepEqual(conversionPayload(v1), body);
    assert.equal(body['callId'], 'generic:42');
    assert.equal(body['status'], 'completed');
    assert.equal(body['matchMethod'], 'dynamic');
    assert.equal(body['startedAt'], '2026-01-01T10:00:00.000Z');
    assert.equal(body['talkSeconds'], 90);
    assert.deepEqual(body['utm'], { source: 'google', medium: 'cpc', campaign: '', content: '', term: 'sofa' });
    assert.deepEqual(body['clickIds'], { gclid: 'abc' });
    assert.equal((body['analyticsIds'] as { gaClientId: string }).gaClientId, '123.456');
    assert.equal(body['eventId'], e.eventId);
  });

  it('retries only answers that may succeed later', () => {
    for (const s of [408, 429, 500, 502, 503, 504]) assert.equal(isRetryableStatus(s), true, String(s));
    for (const s of [400, 401, 403, 404, 409, 410, 422]) assert.equal(isRetryableStatus(s), false, String(s));
  });

  it('records destinations without credentials or query strings', () => {
    assert.equal(safeDestination('https://user:pass@crm.example/hook?token=secret'), 'https://crm.example/hook');
  });
});

describe('DeliveryState', () => {
  const ev = (type: 'ConversionDelivered' | 'ConversionFailed' | 'ConversionSkipped', callId: string, siteId = 'a') =>
    createEvent(
      type,
      { callId, destination: 'd', attempts: 1, httpStatus: 200, reason: 'r', sourceEventId: 'x' },
      {
        siteId,
        producer: 't',
      },
    ) as AnyDomainEvent;

  it('treats delivered and skipped as done, failed as not done, per site', () => {
    const s = new DeliveryState();
    s.apply(ev('ConversionFailed', 'c1'));
    assert.equal(s.isDone('a', 'c1'), false);
    s.apply(ev('ConversionDelivered', 'c1'));
    assert.equal(s.isDone('a', 'c1'), true);
    assert.equal(s.isDone('b', 'c1'), false);
    s.apply(ev('ConversionSkipped', 'c2'));
    assert.deepEqual(s.countsFor('a'), { delivered: 1, skipped: 1, failed: 0 });
  });

  it('does not let a late failure reopen a delivered call', () => {
    const s = new DeliveryState();
    s.apply(ev('ConversionDelivered', 'c1'));
    s.apply(ev('ConversionFailed', 'c1'));
    assert.equal(s.get('a', 'c1')?.status, 'delivered');
  });
});
