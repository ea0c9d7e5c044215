import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { calltrack } from '@calltrack/proto';
import { createEvent, decodeEvent, encodeEvent, SCHEMA_VERSIONS } from './event-codec.js';
import { visitOrigin, visitOriginOf, type VisitOrigin } from './visit-origin.js';

const ev = calltrack.events.v1;

const origin: VisitOrigin = {
  utm: { source: 'google', medium: 'cpc', campaign: 'spring', content: 'ad-1', term: 'plumber' },
  referrer: 'https://www.google.com/',
  landingPage: 'https://shop.example/?utm_source=google&gclid=g1',
  clickIds: { gclid: 'g1' },
  analyticsIds: { gaClientId: '1.2', ymUid: '77', fbp: 'fb.1', fbc: 'fb.2' },
  channel: 'paid_search',
};

// The flat fields a version 1 writer set, as the .proto still declares them (deprecated).
const legacyFields = {
  utm: origin.utm,
  referrer: origin.referrer,
  landingPage: origin.landingPage,
  clickIds: origin.clickIds,
  analyticsIds: origin.analyticsIds,
  channel: origin.channel,
};

/** A record as a version 1 producer wrote it: the flat fields, envelope schema version 1. */
function versionOneRecord(type: 'SessionStarted' | 'CallAttributed', payload: object): Buffer {
  const Type = type === 'SessionStarted' ? ev.SessionStarted : ev.CallAttributed;
  const bytes = ev.EventEnvelope.encode({
    eventId: `old-${type}`,
    eventType: `calltrack.events.v1.${type}`,
    schemaVersion: 1,
    siteId: 'site-a',
    occurredAtMs: 1_700_000_000_000,
    producer: 'v1-producer',
    payload: Type.encode(Type.fromObject(payload)).finish(),
  }).finish();
  return Buffer.from(bytes);
}

describe('visitOriginOf', () => {
  it('reads a version 1 SessionStarted (flat fields only) and a version 2 one (origin) alike', () => {
    const old = decodeEvent(versionOneRecord('SessionStarted', { sessionId: 's1', visitorId: 'v1', startedAtMs: 1, ...legacyFields }));
    const current = decodeEvent(
      encodeEvent(createEvent('SessionStarted', { sessionId: 's1', visitorId: 'v1', startedAtMs: 1, origin }, { siteId: 'site-a', producer: 't' })),
    );
    assert.equal(old.type, 'SessionStarted');
    assert.equal(old.schemaVersion, 1);
    assert.equal(current.schemaVersion, SCHEMA_VERSIONS.SessionStarted);
    assert.equal(current.schemaVersion, 2);
    assert.ok(old.type === 'SessionStarted' && current.type === 'SessionStarted');
    assert.deepEqual(visitOriginOf(old.payload), origin);
    assert.deepEqual(visitOriginOf(current.payload), origin);
  });

  it('reads a version 1 CallAttributed and a version 2 one alike', () => {
    const call = { callId: 'c1', trackingNumber: '+74951000001' };
    const old = decodeEvent(versionOneRecord('CallAttributed', { call, sessionId: 's1', ...legacyFields }));
    const current = decodeEvent(encodeEvent(createEvent('CallAttributed', { call, sessionId: 's1', origin }, { siteId: 'site-a', producer: 't' })));
    assert.equal(current.schemaVersion, 2);
    assert.ok(old.type === 'CallAttributed' && current.type === 'CallAttributed');
    assert.deepEqual(visitOriginOf(old.payload), origin);
    assert.deepEqual(visitOriginOf(current.payload), origin);
  });

  it('gives an empty origin for a record with neither (an unmatched call), and the origin wins over stale flat fields', () => {
    const unmatched = decodeEvent(versionOneRecord('CallAttributed', { call: { callId: 'c2' } }));
    assert.ok(unmatched.type === 'CallAttributed');
    assert.deepEqual(visitOriginOf(unmatched.payload), visitOrigin());
    const both = new ev.CallAttributed({ origin: { channel: 'email' }, channel: 'paid_search', referrer: 'https://old.example/' });
    assert.deepEqual(visitOriginOf(both), { ...visitOrigin(), channel: 'email' });
  });

  it('completes a partial origin and copies it', () => {
    const clickIds = { yclid: 'y1' };
    const o = visitOrigin({ utm: { source: 'yandex' }, clickIds });
    assert.deepEqual(o.utm, { source: 'yandex', medium: '', campaign: '', content: '', term: '' });
    assert.deepEqual(o.analyticsIds, { gaClientId: '', ymUid: '', fbp: '', fbc: '' });
    o.clickIds['gclid'] = 'g';
    assert.deepEqual(clickIds, { yclid: 'y1' });
  });
});
