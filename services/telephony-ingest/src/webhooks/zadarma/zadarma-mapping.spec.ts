import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { calltrack } from '@calltrack/contracts';
import { callReport, CallStage, mergeObservation, type CallObservation, type MergedCall } from '../../calls/call-merge.js';
import { mapZadarmaNotification, zadarmaOutcome, zadarmaReplayProblem } from './zadarma-mapping.js';
import { signedFactsOfReport } from './zadarma-signed-facts.js';

const { CallStatus, CallDirection } = calltrack.events.v1;
const site = { country: 'RU', timeZone: 'Europe/Moscow' };
// 13:00 in Moscow (UTC+3).
const START = Date.UTC(2025, 2, 1, 10, 0, 0);

// Field names and formats as Zadarma documents them (API → notifications; user-api-v1 lib/Webhook).
const notifyStart = {
  event: 'NOTIFY_START',
  call_start: '2025-03-01 13:00:00',
  pbx_call_id: 'in_1740823200.12345',
  caller_id: '79161234567',
  called_did: '74951234567',
};
const notifyAnswer = {
  event: 'NOTIFY_ANSWER',
  caller_id: '79161234567',
  destination: '101',
  call_start: '2025-03-01 13:00:00',
  pbx_call_id: 'in_1740823200.12345',
  internal: '101',
};
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
  return mapZadarmaNotification(form, site, 'site-1', Buffer.from(new URLSearchParams(form).toString()), {
    nowMs: receivedAtMs,
    toleranceMs: 300_000,
    maxCallMs: 4 * 3600_000,
  });
}

function observe(form: Record<string, string>, receivedAtMs = START + 1000) {
  const r = map(form, receivedAtMs);
  assert.equal(r.kind, 'call', JSON.stringify(r));
  return r.observation;
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
      signed: {
        fields: { direction: 'inbound', caller_id: '+79161234567', called_did: '+74951234567', call_start: String(START) },
        signature: `in\n+79161234567\n+74951234567\n${START}`,
        final: false,
      },
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
    const outStart = observe(
      { event: 'NOTIFY_OUT_START', call_start: '2025-03-01 14:00:00', pbx_call_id: 'out_1', internal: '101', destination: '89165550000' },
      Date.UTC(2025, 2, 1, 11, 0, 1),
    );
    assert.deepEqual(outStart.parties, { direction: 'outbound', trackingNumber: '', callerNumber: '', calledNumber: '+79165550000', rank: 2 });
    const outEnd = observe(
      {
        event: 'NOTIFY_OUT_END',
        call_start: '2025-03-01 14:00:00',
        pbx_call_id: 'out_1',
        caller_id: '74951234567',
        internal: '101',
        destination: '89165550000',
        duration: '20',
        disposition: 'answered',
        status_code: '16',
        is_recorded: '0',
        call_id_with_rec: '',
      },
      Date.UTC(2025, 2, 1, 11, 0, 30),
    );
    const r = callReport(mergeObservation(mergeObservation(undefined, outEnd), outStart), { defaultNumber: '+74950000000' });
    assert.ok(r.ok);
    assert.equal(r.payload.direction, CallDirection.CALL_DIRECTION_OUTBOUND);
    assert.equal(r.payload.trackingNumber, '+74951234567');
    assert.equal(r.payload.calledNumber, '+79165550000');
    assert.equal(
      map(
        { event: 'NOTIFY_OUT_START', call_start: '2025-03-01 14:00:00', pbx_call_id: 'out_2', internal: '101', destination: '102' },
        Date.UTC(2025, 2, 1, 11, 0, 1),
      ).kind,
      'ignored',
    );
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

  it('refuses a signed call_start outside the replay window: a start within the tolerance, an answer or end within the longest call', () => {
    const w = (nowMs: number) => ({ nowMs, toleranceMs: 300_000, maxCallMs: 4 * 3600_000 });
    assert.equal(zadarmaReplayProblem('NOTIFY_START', START, undefined, w(START + 299_000)), undefined);
    assert.match(zadarmaReplayProblem('NOTIFY_START', START, undefined, w(START + 301_000))!, /301 s old/);
    assert.match(zadarmaReplayProblem('NOTIFY_START', START, undefined, w(START - 301_000))!, /future/);
    assert.equal(zadarmaReplayProblem('NOTIFY_END', START, 3600, w(START + 3 * 3600_000)), undefined);
    assert.match(zadarmaReplayProblem('NOTIFY_END', START, 30, w(START + 4 * 3600_000 + 301_000))!, /old/);
    assert.match(zadarmaReplayProblem('NOTIFY_END', START, 7200, w(START + 600_000))!, /duration 7200 s is longer/);
    const stale = map(notifyStart, START + 3600_000);
    assert.equal(stale.kind, 'stale');
  });

  it('reads caller_id by the one caller rule: withheld stays withheld, garbage is refused naming caller_id', () => {
    for (const withheld of ['', 'anonymous', 'Anonymous', 'restricted', 'sip:anonymous@anonymous.invalid']) {
      assert.equal(observe({ ...notifyStart, caller_id: withheld }).parties?.callerNumber, '', withheld);
    }
    for (const garbage of ['ABCDEFG', '1'.repeat(40), 'sip:evil@example.com']) {
      const r = map({ ...notifyStart, caller_id: garbage }, START + 1000);
      assert.equal(r.kind, 'invalid', garbage);
      assert.deepEqual(r.kind === 'invalid' && r.problems.map((p) => p.field), ['caller_id']);
      const a = map({ ...notifyAnswer, caller_id: garbage }, START + 1000);
      assert.deepEqual(a.kind === 'invalid' && a.problems.map((p) => p.field), ['caller_id']);
    }
  });

  it('refuses a pbx_call_id outside the id rule, naming it', () => {
    for (const id of ['x'.repeat(129), 'in\u0007bell', 'in 1']) {
      const r = map({ ...notifyStart, pbx_call_id: id }, START + 1000);
      assert.deepEqual(r.kind === 'invalid' && r.problems.map((p) => p.field), ['pbx_call_id'], id);
    }
    assert.equal(map({ ...notifyStart, pbx_call_id: 'in_😀_ü' }, START + 1000).kind, 'call', 'UTF-8 ids are fine: downstream encodes them');
  });

  it('binds each notification to its signed fields: start and end share one signature, the answer is compared on caller and start', () => {
    const s = observe(notifyStart).signed!;
    const e = observe(notifyEnd, START + 60_000).signed!;
    const a = observe(notifyAnswer, START + 6000).signed!;
    assert.equal(s.signature, e.signature);
    assert.deepEqual([s.final, e.final, a.final], [false, true, false]);
    assert.deepEqual(a.fields, { direction: 'inbound', caller_id: '+79161234567', call_start: String(START) });
    // What a published report of the call states reads back to the same facts (the ledger's rebuild).
    const report = callReport(mergeObservation(mergeObservation(undefined, observe(notifyStart)), observe(notifyEnd, START + 60_000)), {
      defaultNumber: '+74950000000',
    });
    assert.ok(report.ok);
    assert.deepEqual(
      signedFactsOfReport({ ...report.payload, startedAtMs: String(report.payload.startedAtMs) } as Parameters<typeof signedFactsOfReport>[0]),
      e,
    );
  });
});
