import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { calltrack } from '@calltrack/contracts';
import { DEFAULT_EVENT_TIME_WINDOW } from '../../intake/event-time-window.js';
import { mapGenericWebhook, webhookEventId } from './generic-mapping.js';

const { CallStatus, CallDirection } = calltrack.events.v1;

const base = {
  callId: 'abc-123',
  trackingNumber: '8 (495) 123-45-67',
  callerNumber: '+7 916 123-45-67',
  status: 'completed',
  startedAt: '2025-03-01T10:00:00Z',
  answeredAt: '2025-03-01T10:00:05Z',
  endedAt: 1740823300000,
  recordingUrl: 'https://rec.example.com/abc-123.mp3',
  sequence: 7,
};

function problems(body: unknown, country = 'RU') {
  const r = mapGenericWebhook(body, country);
  assert.equal(r.ok, false, 'expected the body to be refused');
  return r.ok ? [] : r.problems;
}

describe('generic webhook mapping', () => {
  it('maps a full report: E.164 numbers, enums, epoch ms, platform call id', () => {
    const r = mapGenericWebhook(base, 'RU');
    assert.ok(r.ok);
    assert.equal(r.callId, 'generic:abc-123');
    assert.deepEqual(r.payload, {
      callId: 'generic:abc-123',
      provider: 'generic',
      providerCallId: 'abc-123',
      trackingNumber: '+74951234567',
      callerNumber: '+79161234567',
      direction: CallDirection.CALL_DIRECTION_INBOUND,
      status: CallStatus.CALL_STATUS_COMPLETED,
      startedAtMs: Date.UTC(2025, 2, 1, 10, 0, 0),
      answeredAtMs: Date.UTC(2025, 2, 1, 10, 0, 5),
      endedAtMs: 1740823300000,
      recordingUrl: 'https://rec.example.com/abc-123.mp3',
      sequence: 7,
    });
    assert.equal(r.occurredAtMs, 1740823300000);
  });

  it('fills absent optionals: withheld caller, inbound, zero times, sequence ranked by status', () => {
    const minimal = { callId: 'x', trackingNumber: '+14155550123', status: 'ringing', startedAt: 1740823200000 };
    const r = mapGenericWebhook(minimal, 'US');
    assert.ok(r.ok);
    assert.equal(r.payload.callerNumber, '');
    assert.equal(r.payload.direction, CallDirection.CALL_DIRECTION_INBOUND);
    assert.equal(r.payload.answeredAtMs, 0);
    assert.equal(r.payload.endedAtMs, 0);
    assert.equal(r.payload.recordingUrl, '');
    const ranks = ['ringing', 'answered', 'completed', 'missed', 'busy', 'failed'].map((status) => {
      const m = mapGenericWebhook({ ...minimal, status }, 'US');
      assert.ok(m.ok);
      return m.payload.sequence;
    });
    assert.deepEqual(ranks, [1, 2, 3, 3, 3, 3]);
    const withNulls = mapGenericWebhook({ ...minimal, callerNumber: null, answeredAt: null, direction: 'outbound', sequence: 0 }, 'US');
    assert.ok(withNulls.ok);
    assert.equal(withNulls.payload.direction, CallDirection.CALL_DIRECTION_OUTBOUND);
    assert.equal(withNulls.payload.sequence, 0);
    for (const callerNumber of ['', 'Anonymous', 'private']) {
      const w = mapGenericWebhook({ ...minimal, callerNumber }, 'US');
      assert.ok(w.ok, callerNumber);
      assert.equal(w.payload.callerNumber, '');
    }
  });

  it('names missing fields, wrong types and unknown fields', () => {
    const { trackingNumber: _omit, ...noTracking } = base;
    assert.deepEqual(problems(noTracking), [{ field: 'trackingNumber', problem: 'required field is missing' }]);
    const wrong = problems({ ...base, sequence: '7', status: 'ended' });
    assert.deepEqual(wrong.map((p) => p.field).sort(), ['sequence', 'status']);
    assert.deepEqual(problems({ ...base, duration: 30, extra: 1 }), [
      { field: 'duration', problem: 'unknown field' },
      { field: 'extra', problem: 'unknown field' },
    ]);
    assert.equal(problems([base])[0]?.field, '(root)');
  });

  it('refuses bad values: call id, times, URL, sequence', () => {
    const field = (over: object) => problems({ ...base, ...over }).map((p) => p.field);
    assert.deepEqual(field({ callId: '' }), ['callId']);
    assert.deepEqual(field({ callId: 'x'.repeat(129) }), ['callId']);
    assert.deepEqual(field({ callId: 'has space' }), ['callId']);
    assert.deepEqual(field({ startedAt: '2025-03-01 10:00' }), ['startedAt']);
    assert.deepEqual(field({ startedAt: '2025-03-01T10:00:00' }), ['startedAt'], 'a time without a zone is ambiguous');
    assert.deepEqual(field({ startedAt: 1740823200 }), ['startedAt'], 'epoch seconds are refused');
    assert.deepEqual(field({ recordingUrl: 'ftp://rec.example.com/a.mp3' }), ['recordingUrl']);
    assert.deepEqual(field({ recordingUrl: 'javascript:alert(1)' }), ['recordingUrl']);
    assert.deepEqual(field({ sequence: -1 }), ['sequence']);
    assert.deepEqual(field({ sequence: 1.5 }), ['sequence']);
    assert.deepEqual(field({ direction: 'sideways' }), ['direction']);
  });

  it('refuses numbers that are not valid in the site country', () => {
    assert.deepEqual(
      problems({ ...base, trackingNumber: '123' }).map((p) => p.field),
      ['trackingNumber'],
    );
    assert.deepEqual(
      problems({ ...base, callerNumber: '12' }).map((p) => p.field),
      ['callerNumber'],
    );
    // A local number means something else in another country.
    assert.deepEqual(
      problems({ ...base, callerNumber: '' }, 'US').map((p) => p.field),
      ['trackingNumber'],
    );
  });

  it('checks the order of the times', () => {
    assert.deepEqual(problems({ ...base, endedAt: '2025-03-01T09:59:59Z', answeredAt: null }), [{ field: 'endedAt', problem: 'is before startedAt' }]);
    assert.deepEqual(problems({ ...base, answeredAt: '2025-03-01T09:59:00Z' }), [{ field: 'answeredAt', problem: 'is before startedAt' }]);
    assert.deepEqual(problems({ ...base, answeredAt: 1740823300001 }), [{ field: 'answeredAt', problem: 'is after endedAt' }]);
    const offsets = mapGenericWebhook({ ...base, startedAt: '2025-03-01T13:00:00+03:00', answeredAt: '2025-03-01T10:00:00Z' }, 'RU');
    assert.ok(offsets.ok, 'the same instant in two zones is in order');
  });
});

describe('webhook event id', () => {
  const raw = Buffer.from(JSON.stringify(base));
  it('is deterministic per site and bytes, UUID-shaped', () => {
    const id = webhookEventId('site-a', raw);
    assert.equal(id, webhookEventId('site-a', Buffer.from(raw)));
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
  it('differs for another site or other bytes', () => {
    const id = webhookEventId('site-a', raw);
    assert.notEqual(webhookEventId('site-b', raw), id);
    assert.notEqual(webhookEventId('site-a', Buffer.from(JSON.stringify({ ...base, status: 'missed' }))), id);
  });

  it('applies the time window of every adapter relative to the moment of receipt, naming each field', () => {
    const time = { nowMs: Date.UTC(2025, 2, 1, 10, 10, 0), window: DEFAULT_EVENT_TIME_WINDOW };
    assert.equal(mapGenericWebhook(base, 'RU', time).ok, true);
    const r = mapGenericWebhook({ ...base, startedAt: '2001-03-01T10:00:00Z', answeredAt: null, endedAt: '2025-03-01T10:20:00Z' }, 'RU', time);
    assert.deepEqual(r.ok ? [] : r.problems.map((p) => [p.field, /days in the past|in the future/.test(p.problem)]), [
      ['startedAt', true],
      ['endedAt', true],
    ]);
  });

  it('reads callerNumber by the one caller rule and callId by the id rule', () => {
    for (const withheld of ['+266696687', 'sip:anonymous@anonymous.invalid', 'Restricted']) {
      const r = mapGenericWebhook({ ...base, callerNumber: withheld }, 'RU');
      assert.equal(r.ok && r.payload.callerNumber, '', withheld);
    }
    assert.deepEqual(
      problems({ ...base, callerNumber: 'sip:evil@example.com' }).map((p) => p.field),
      ['callerNumber'],
    );
    assert.equal(mapGenericWebhook({ ...base, callId: 'звонок-😀' }, 'RU').ok, true, 'UTF-8 ids are fine: downstream encodes them');
    assert.deepEqual(
      problems({ ...base, callId: 'a\u0000b' }).map((p) => p.field),
      ['callId'],
    );
  });
});
