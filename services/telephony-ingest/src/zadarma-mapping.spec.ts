import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { calltrack } from '@calltrack/contracts';
import { callReport, CallStage, mergeObservation, type CallObservation, type MergedCall } from './call-merge.js';
import { mapZadarmaNotification, zadarmaOutcome } from './zadarma-mapping.js';

const { CallStatus, CallDirection } = calltrack.events.v1;
const site = { country: 'RU', timeZone: 'Europe/Moscow' };
// 13:00 in Moscow (UTC+3).
const START = Date.UTC(2025, 2, 1, 10, 0, 0);

// Field names and formats as Zadarma documents them (API → notifications; user-api-v1 lib/Webhook).
const notifyStart = { event: 'NOTIFY_START', call_start: '2025-03-01 13:00:00', pbx_call_id: 'in_1740823200.12345', caller_id: '79161234567', called_did: '74951234567' };
const notifyAnswer = { event: 'NOTIFY_ANSWER', caller_id: '79161234567', destination: '101', call_start: '2025-03-01 13:00:00', pbx_call_id: 'in_1740823200.12345', internal: '101' };
const notifyEnd = {
  event: 'NOTIFY_END',
  call_start: '2025-03-01 13:00:00',
  pbx_call_id: 'in_1740823200.12345',
  caller_id: '79161234567',
  called_did: '74951234567',
  internal: '101',
  duration: '53',
  disposition: 'answered',
  status_code: '16',
  is_recorded: '1',
  call_id_with_rec: '1740823200.12345',
};

function map(form: Record<string, string>, receivedAtMs: number) {
  return mapZadarmaNotification(form, site, 'site-1', Buffer.from(new URLSearchParams(form).toString()), receivedAtMs);
}

function observe(form: Record<string, string>, receivedAtMs = START + 1000) {
  const r = map(form, receivedAtMs);
  assert.equal(r.kind, 'call', JSON.stringify(r));
  return (r as Extract<typeof r, { kind: 'call' }>).observation;
}

describe('Zadarma notification mapping', () => {
  it('maps NOTIFY_START: called_did is the tracking number, call_start read in the site time zone', () => {
    assert.deepEqual(observe(notifyStart), {
      provider: 'zadarma',
      providerCallId: 'in_1740823200.12345',
      stage: CallStage.start,
      providerSequence: 0,
      parties: { direction: 'inbound', trackingNumber: '+74951234567', callerNumber: '+79161234567', calledNumber: '', rank: 2 },
      startedAt: { ms: START, exact: true },
    });
  });

  it('maps NOTIFY_ANSWER to the answer at its arrival, a weaker source of the parties', () => {
    const o = observe(notifyAnswer, START + 6000);
    assert.equal(o.stage, CallStage.answer);
    assert.deepEqual(o.answeredAt, { ms: START + 6000, exact: true });
    assert.equal(o.parties?.rank, 1);
    assert.equal(o.parties?.trackingNumber, '', 'an extension is not a tracking number');
  });

  it('maps NOTIFY_END: end at arrival, answered duration seconds before unless the answer was seen', () => {
    const o = observe(notifyEnd, START + 60_000);
    assert.equal(o.stage, CallStage.end);
    assert.equal(o.outcome, 'completed');
    assert.deepEqual(o.endedAt, { ms: START + 60_000, exact: true });
    assert.deepEqual(o.answeredAt, { ms: START + 7000, exact: false });
    const merge = (list: CallObservation[]) => list.reduce<MergedCall | undefined>((c, x) => mergeObservation(c, x), undefined)!;
    const all = [observe(notifyStart), observe(notifyAnswer, START + 6000), o];
    for (const order of [all, [...all].reverse(), [all[2]!, all[0]!, all[1]!]]) {
      const r = callReport(merge(order), { defaultNumber: '' });
      assert.ok(r.ok);
      assert.deepEqual(
        [r.payload.status, r.payload.trackingNumber, r.payload.callerNumber, r.payload.startedAtMs, r.payload.answeredAtMs, r.payload.endedAtMs],
        [CallStatus.CALL_STATUS_COMPLETED, '+74951234567', '+79161234567', START, START + 6000, START + 60_000],
      );
    }
  });

  it('maps every disposition Zadarma lists', () => {
    const expected: Record<string, string> = {
      answered: 'completed',
      busy: 'busy',
      cancel: 'missed',
      'no answer': 'missed',
      failed: 'failed',
      'no money': 'failed',
      'unallocated number': 'failed',
      'no limit': 'failed',
      'no day limit': 'failed',
      'line limit': 'failed',
      'no money, no limit': 'failed',
    };
    for (const [d, outcome] of Object.entries(expected)) assert.equal(zadarmaOutcome(d), outcome, d);
    const missed = observe({ ...notifyEnd, disposition: 'no answer', duration: '0' });
    assert.equal(missed.answeredAt, undefined);
  });

  it('maps outgoing calls: destination is who was called, caller_id of the end the line', () => {
    const outStart = observe({ event: 'NOTIFY_OUT_START', call_start: '2025-03-01 14:00:00', pbx_call_id: 'out_1', internal: '101', destination: '89165550000' });
    assert.deepEqual(outStart.parties, { direction: 'outbound', trackingNumber: '', callerNumber: '', calledNumber: '+79165550000', rank: 2 });
    const outEnd = observe(
      { event: 'NOTIFY_OUT_END', call_start: '2025-03-01 14:00:00', pbx_call_id: 'out_1', caller_id: '74951234567', internal: '101', destination: '89165550000', duration: '20', disposition: 'answered', status_code: '16', is_recorded: '0', call_id_with_rec: '' },
      Date.UTC(2025, 2, 1, 11, 0, 30),
    );
    const r = callReport(mergeObservation(mergeObservation(undefined, outEnd), outStart), { defaultNumber: '+74950000000' });
    assert.ok(r.ok);
    assert.equal(r.payload.direction, CallDirection.CALL_DIRECTION_OUTBOUND);
    assert.equal(r.payload.trackingNumber, '+74951234567');
    assert.equal(r.payload.calledNumber, '+79165550000');
    assert.equal(map({ event: 'NOTIFY_OUT_START', call_start: '2025-03-01 14:00:00', pbx_call_id: 'out_2', internal: '101', destination: '102' }, START).kind, 'ignored');
  });

  it('ignores notifications that say nothing about a call state', () => {
    assert.equal(map({ event: 'NOTIFY_RECORD', pbx_call_id: 'p', call_id_with_rec: 'r' }, START).kind, 'ignored');
    assert.equal(map({ event: 'NOTIFY_IVR', caller_id: '1', called_did: '2', call_start: '2025-03-01 13:00:00' }, START).kind, 'ignored');
  });

  it('names what is malformed', () => {
    const fields = (form: Record<string, string>) => {
      const r = map(form, START);
      assert.equal(r.kind, 'invalid', JSON.stringify(r));
      return r.kind === 'invalid' ? r.problems.map((p) => p.field) : [];
    };
    assert.deepEqual(fields({ ...notifyStart, call_start: '01.03.2025 13:00' }), ['call_start']);
    assert.deepEqual(fields({ ...notifyStart, called_did: '' }), ['called_did']);
    assert.deepEqual(fields({ ...notifyStart, called_did: '12' }), ['called_did']);
    assert.deepEqual(fields({ ...notifyEnd, duration: 'long' }), ['duration']);
    const { pbx_call_id: _omit, ...noId } = notifyStart;
    assert.deepEqual(fields(noId), ['pbx_call_id']);
  });

  it('gives a retried notification the same event id', () => {
    const a = map(notifyStart, START);
    const b = map(notifyStart, START + 5000);
    assert.ok(a.kind === 'call' && b.kind === 'call');
    assert.equal(a.eventId, b.eventId);
  });
});
