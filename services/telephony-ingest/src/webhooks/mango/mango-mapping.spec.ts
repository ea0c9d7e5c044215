import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { calltrack } from '@calltrack/contracts';
import { callReport, CallStage, mergeObservation, type CallObservation, type MergedCall } from '../../calls/call-merge.js';
import { mapMangoCallEvent, mapMangoSummary } from './mango-mapping.js';

const { CallStatus, CallDirection } = calltrack.events.v1;
const T = 1740823200; // 2025-03-01T10:00:00Z
const ENTRY = 'MjA2NDQ2NzE1Njo0MDE=';

// Field names as the VPBX API documents them (/events/call, /events/summary).
const callEvent = (over: Record<string, unknown>) => ({
  entry_id: ENTRY,
  call_id: 'MToxMDEzODAxNzoyMDE6ODA5NDQ0MjMy',
  timestamp: T,
  seq: 1,
  call_state: 'Appeared',
  location: 'ivr',
  from: { number: '79161234567' },
  to: { number: '74951234567', line_number: '74951234567' },
  ...over,
});
const summary = (over: Record<string, unknown> = {}) => ({
  entry_id: ENTRY,
  call_direction: 1,
  from: { number: '79161234567' },
  to: { extension: '101', number: 'sip:manager@vpbx400000000.mangosip.ru' },
  line_number: '74951234567',
  create_time: T,
  forward_time: T + 3,
  talk_time: T + 8,
  end_time: T + 70,
  entry_result: 1,
  disconnect_reason: 1110,
  ...over,
});

function observe(r: ReturnType<typeof mapMangoCallEvent>) {
  assert.equal(r.kind, 'call', JSON.stringify(r));
  return r.observation;
}
const call = (e: object) => observe(mapMangoCallEvent(JSON.stringify(e), 'RU', 'site-1'));
const sum = (e: object) => observe(mapMangoSummary(JSON.stringify(e), 'RU', 'site-1'));
const merge = (list: CallObservation[]) => list.reduce<MergedCall | undefined>((c, o) => mergeObservation(c, o), undefined)!;

describe('Mango Office mapping', () => {
  it('maps Appeared: the call is entry_id, the line number the tracking number, seq the order', () => {
    assert.deepEqual(call(callEvent({})), {
      provider: 'mango',
      providerCallId: ENTRY,
      stage: CallStage.start,
      providerSequence: 1,
      parties: { direction: 'inbound', trackingNumber: '+74951234567', callerNumber: '+79161234567', calledNumber: '', rank: 1 },
      startedAt: { ms: T * 1000, exact: true },
    });
  });

  it('prefers the Mango call-tracking number (dct) over the line', () => {
    assert.equal(call(callEvent({ dct: { number: '74957654321', type: 1 } })).parties?.trackingNumber, '+74957654321');
  });

  it('answers on Connected at an employee, not at the IVR; a leg Disconnected does not end the call', () => {
    const ivr = call(callEvent({ call_state: 'Connected', seq: 2, location: 'ivr' }));
    assert.equal(ivr.stage, CallStage.start);
    const abonent = call(
      callEvent({ call_state: 'Connected', seq: 3, location: 'abonent', timestamp: T + 8, to: { extension: '101', number: 'sip:manager@x' } }),
    );
    assert.equal(abonent.stage, CallStage.answer);
    assert.deepEqual(abonent.answeredAt, { ms: (T + 8) * 1000, exact: true });
    assert.equal(abonent.parties?.trackingNumber, '', 'the employee leg does not name the line');
    const leg = call(callEvent({ call_state: 'Disconnected', seq: 4, timestamp: T + 3 }));
    assert.equal(leg.stage, CallStage.start);
    const r = callReport(merge([call(callEvent({})), ivr, abonent, leg]), { defaultNumber: '' });
    assert.ok(r.ok);
    assert.equal(r.payload.status, CallStatus.CALL_STATUS_ANSWERED);
    assert.equal(r.payload.trackingNumber, '+74951234567');
  });

  it('maps the summary as the final word, whatever came before or after', () => {
    const final = sum(summary());
    assert.equal(final.stage, CallStage.final);
    assert.deepEqual(
      [final.startedAt, final.answeredAt, final.endedAt],
      [
        { ms: T * 1000, exact: true },
        { ms: (T + 8) * 1000, exact: true },
        { ms: (T + 70) * 1000, exact: true },
      ],
    );
    const events = [call(callEvent({})), call(callEvent({ call_state: 'Connected', seq: 3, location: 'abonent', timestamp: T + 8 })), final];
    for (const order of [events, [...events].reverse()]) {
      const r = callReport(merge(order), { defaultNumber: '' });
      assert.ok(r.ok);
      assert.deepEqual(
        [r.payload.status, r.payload.trackingNumber, r.payload.startedAtMs, r.payload.answeredAtMs, r.payload.endedAtMs],
        [CallStatus.CALL_STATUS_COMPLETED, '+74951234567', T * 1000, (T + 8) * 1000, (T + 70) * 1000],
      );
    }
    const missed = callReport(merge([sum(summary({ entry_result: 0, talk_time: 0 }))]), { defaultNumber: '' });
    assert.ok(missed.ok);
    assert.equal(missed.payload.status, CallStatus.CALL_STATUS_MISSED);
    assert.equal(missed.payload.answeredAtMs, 0);
  });

  it('maps outgoing calls from an employee, and ignores internal ones', () => {
    const out = sum(
      summary({ call_direction: 2, from: { extension: '101', number: 'sip:manager@x' }, to: { number: '79165550000' }, line_number: '74951234567' }),
    );
    assert.deepEqual(out.parties, {
      direction: 'outbound',
      trackingNumber: '+74951234567',
      callerNumber: '+74951234567',
      calledNumber: '+79165550000',
      rank: 2,
    });
    const r = callReport(merge([out]), { defaultNumber: '' });
    assert.ok(r.ok);
    assert.equal(r.payload.direction, CallDirection.CALL_DIRECTION_OUTBOUND);
    const outLeg = call(callEvent({ from: { extension: '101', number: 'sip:manager@x' }, to: { number: '79165550000' } }));
    assert.equal(outLeg.parties?.direction, 'outbound');
    assert.equal(mapMangoSummary(JSON.stringify(summary({ call_direction: 0 })), 'RU', 's').kind, 'ignored');
    assert.equal(mapMangoCallEvent(JSON.stringify(callEvent({ from: { extension: '101' }, to: { extension: '102' } })), 'RU', 's').kind, 'ignored');
  });

  it('accepts counters sent as strings', () => {
    assert.equal(call(callEvent({ seq: '7', timestamp: String(T) })).providerSequence, 7);
  });

  it('names what is malformed, inside json', () => {
    const problems = (r: ReturnType<typeof mapMangoCallEvent>) => (r.kind === 'invalid' ? r.problems.map((p) => p.field) : [r.kind]);
    assert.deepEqual(problems(mapMangoCallEvent('{not json', 'RU', 's')), ['json']);
    assert.deepEqual(problems(mapMangoCallEvent(JSON.stringify(callEvent({ call_state: 'Ringing' })), 'RU', 's')), ['json.call_state']);
    assert.deepEqual(problems(mapMangoCallEvent(JSON.stringify(callEvent({ timestamp: 1740823200000 })), 'RU', 's')), ['json.timestamp']);
    assert.deepEqual(problems(mapMangoSummary(JSON.stringify(summary({ end_time: 0 })), 'RU', 's')), ['json.end_time']);
    assert.deepEqual(problems(mapMangoSummary(JSON.stringify(summary({ line_number: '', to: { extension: '101' } })), 'RU', 's')), ['json.line_number']);
  });

  it('gives a repeated event the same id and the summary an id of its own', () => {
    const id = (r: ReturnType<typeof mapMangoCallEvent>) => (r.kind === 'call' ? r.eventId : '');
    const a = id(mapMangoCallEvent(JSON.stringify(callEvent({})), 'RU', 's'));
    assert.equal(id(mapMangoCallEvent(JSON.stringify(callEvent({})), 'RU', 's')), a);
    assert.notEqual(id(mapMangoCallEvent(JSON.stringify(callEvent({ seq: 2 })), 'RU', 's')), a);
    assert.notEqual(id(mapMangoSummary(JSON.stringify(summary()), 'RU', 's')), a);
  });

  it('reads from.number by the one caller rule in call events and summaries: withheld stays withheld, garbage is refused', () => {
    for (const withheld of ['', 'anonymous', 'Anonymous', 'restricted', 'sip:anonymous@anonymous.invalid']) {
      assert.equal(call(callEvent({ from: { number: withheld } })).parties?.callerNumber, '', withheld);
      assert.equal(sum(summary({ from: { number: withheld } })).parties?.callerNumber, '', withheld);
    }
    for (const garbage of ['ABCDEFG', '1'.repeat(40), 'sip:evil@example.com']) {
      const c = mapMangoCallEvent(JSON.stringify(callEvent({ from: { number: garbage } })), 'RU', 's');
      assert.deepEqual(c.kind === 'invalid' && c.problems.map((p) => p.field), ['json.from.number'], garbage);
      const s = mapMangoSummary(JSON.stringify(summary({ from: { number: garbage } })), 'RU', 's');
      assert.deepEqual(s.kind === 'invalid' && s.problems.map((p) => p.field), ['json.from.number'], garbage);
    }
  });
});
