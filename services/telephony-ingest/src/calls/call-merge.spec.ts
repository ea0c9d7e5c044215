import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { calltrack } from '@calltrack/contracts';
import { callReport, CallStage, mergeObservation, observationSequence, stageOfSequence, type CallObservation, type MergedCall } from './call-merge.js';

const { CallStatus, CallDirection } = calltrack.events.v1;
const site = { defaultNumber: '+74951230000' };
const T0 = Date.UTC(2025, 2, 1, 10, 0, 0);
const inbound = { direction: 'inbound' as const, trackingNumber: '+74951234567', callerNumber: '+79161234567', calledNumber: '', rank: 2 };

const start: CallObservation = {
  provider: 'twilio',
  providerCallId: 'c1',
  stage: CallStage.start,
  providerSequence: 1,
  parties: inbound,
  startedAt: { ms: T0, exact: true },
};
const answer: CallObservation = {
  provider: 'twilio',
  providerCallId: 'c1',
  stage: CallStage.answer,
  providerSequence: 2,
  parties: inbound,
  answeredAt: { ms: T0 + 5000, exact: true },
};
const end: CallObservation = {
  provider: 'twilio',
  providerCallId: 'c1',
  stage: CallStage.end,
  providerSequence: 3,
  parties: inbound,
  endedAt: { ms: T0 + 65_000, exact: true },
  outcome: 'completed',
  // What an end alone can tell: answered 60 s before it, the start unknown.
  answeredAt: { ms: T0 + 4000, exact: false },
  startedAt: { ms: T0 + 4000, exact: false },
};

function permutations<T>(items: T[]): T[][] {
  if (items.length <= 1) return [items];
  return items.flatMap((x, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [x, ...rest]));
}

const mergeAll = (observations: CallObservation[]): MergedCall =>
  observations.reduce<MergedCall | undefined>((call, o) => mergeObservation(call, o), undefined)!;

function report(call: MergedCall) {
  const r = callReport(call, site);
  assert.ok(r.ok, 'expected a reportable call');
  return r.payload;
}

describe('call merge', () => {
  it('encodes stage before the provider sequence, so end beats answer beats start', () => {
    assert.ok(observationSequence({ stage: CallStage.end, providerSequence: 0 }) > observationSequence({ stage: CallStage.answer, providerSequence: 99 }));
    assert.ok(
      observationSequence({ stage: CallStage.answer, providerSequence: 0 }) > observationSequence({ stage: CallStage.start, providerSequence: 1_000_000 }),
    );
    assert.ok(observationSequence({ stage: CallStage.start, providerSequence: 7 }) > observationSequence({ stage: CallStage.start, providerSequence: 6 }));
    assert.ok(observationSequence({ stage: CallStage.final, providerSequence: 0 }) <= 0xffff_ffff, 'fits the uint32 sequence');
    assert.equal(
      stageOfSequence(observationSequence({ stage: CallStage.end, providerSequence: 2 ** 40 })),
      CallStage.end,
      'a huge provider sequence does not spill into the stage',
    );
  });

  it('gives the same call record for every arrival order of start, answer and end', () => {
    const expected = {
      callId: 'twilio:c1',
      provider: 'twilio',
      providerCallId: 'c1',
      trackingNumber: '+74951234567',
      callerNumber: '+79161234567',
      direction: CallDirection.CALL_DIRECTION_INBOUND,
      status: CallStatus.CALL_STATUS_COMPLETED,
      startedAtMs: T0,
      answeredAtMs: T0 + 5000,
      endedAtMs: T0 + 65_000,
      recordingUrl: '',
      sequence: observationSequence(end),
      calledNumber: '',
    };
    for (const order of permutations([start, answer, end])) {
      assert.deepEqual(report(mergeAll(order)), expected, order.map((o) => o.stage).join(','));
    }
  });

  it('an end before its start already gives a whole record; exact times replace derived ones later', () => {
    const endOnly = report(mergeAll([end]));
    assert.equal(endOnly.status, CallStatus.CALL_STATUS_COMPLETED);
    assert.equal(endOnly.startedAtMs, T0 + 4000);
    assert.equal(endOnly.answeredAtMs, T0 + 4000);
    const thenStart = report(mergeAll([end, start]));
    assert.equal(thenStart.startedAtMs, T0, 'the exact start replaces the derived one');
    assert.equal(thenStart.answeredAtMs, T0 + 4000, 'the derived answer stands until an exact one comes');
    assert.equal(thenStart.sequence, endOnly.sequence, 'a late start does not step the call back');
  });

  it('is idempotent: a repeated observation changes nothing', () => {
    const once = mergeAll([start, answer]);
    assert.deepEqual(mergeAll([start, answer, answer, start]), once);
  });

  it('derives the status: ringing, answered, then the outcome; an answered call ends completed', () => {
    assert.equal(report(mergeAll([start])).status, CallStatus.CALL_STATUS_RINGING);
    assert.equal(report(mergeAll([start, answer])).status, CallStatus.CALL_STATUS_ANSWERED);
    const missed: CallObservation = { ...end, outcome: 'missed', answeredAt: undefined, startedAt: undefined };
    assert.equal(report(mergeAll([start, missed])).status, CallStatus.CALL_STATUS_MISSED);
    assert.equal(report(mergeAll([start, missed])).answeredAtMs, 0);
    assert.equal(report(mergeAll([start, { ...missed, outcome: 'busy' }])).status, CallStatus.CALL_STATUS_BUSY);
    // A leg that ended unanswered does not unanswer a call another leg answered.
    assert.equal(report(mergeAll([answer, missed])).status, CallStatus.CALL_STATUS_COMPLETED);
    const ended = report(mergeAll([answer, missed]));
    assert.ok(Number(ended.startedAtMs) <= Number(ended.answeredAtMs) && Number(ended.answeredAtMs) <= Number(ended.endedAtMs));
  });

  it('takes the parties from the highest rank, filling what it leaves empty on the same side', () => {
    const weak: CallObservation = { ...answer, parties: { direction: 'inbound', trackingNumber: '', callerNumber: '+79160000000', calledNumber: '', rank: 1 } };
    assert.equal(report(mergeAll([weak, start])).callerNumber, '+79161234567');
    const noCaller: CallObservation = { ...start, parties: { ...inbound, callerNumber: '' } };
    assert.equal(report(mergeAll([noCaller, { ...weak, parties: { ...weak.parties!, rank: 1 } }])).callerNumber, '+79160000000');
    const outStart: CallObservation = {
      ...start,
      parties: { direction: 'outbound', trackingNumber: '', callerNumber: '', calledNumber: '+79165550000', rank: 2 },
    };
    const outEnd: CallObservation = {
      ...end,
      parties: { direction: 'outbound', trackingNumber: '+74951111111', callerNumber: '+74951111111', calledNumber: '+79165550000', rank: 2 },
    };
    for (const order of permutations([outStart, outEnd])) {
      const p = report(mergeAll(order));
      assert.equal(p.direction, CallDirection.CALL_DIRECTION_OUTBOUND);
      assert.equal(p.trackingNumber, '+74951111111');
      assert.equal(p.calledNumber, '+79165550000');
    }
  });

  it('holds an inbound call until some event names the dialled number; an outbound one falls back to the default number', () => {
    const noNumber: CallObservation = {
      ...answer,
      parties: { direction: 'inbound', trackingNumber: '', callerNumber: '+79161234567', calledNumber: '', rank: 1 },
    };
    assert.deepEqual(callReport(mergeAll([noNumber]), site), { ok: false, reason: 'no_tracking_number' });
    assert.equal(report(mergeAll([noNumber, start])).trackingNumber, '+74951234567');
    const outbound: CallObservation = {
      ...start,
      parties: { direction: 'outbound', trackingNumber: '', callerNumber: '', calledNumber: '+79165550000', rank: 2 },
    };
    const p = report(mergeAll([outbound]));
    assert.equal(p.trackingNumber, site.defaultNumber);
    assert.equal(p.callerNumber, site.defaultNumber);
  });

  it('breaks ties between legs of the same sequence by what they tell, not by arrival order', () => {
    const legA: CallObservation = { ...end, providerSequence: 0, outcome: 'missed', answeredAt: undefined, startedAt: undefined };
    const legB: CallObservation = { ...legA, outcome: 'busy', endedAt: { ms: T0 + 70_000, exact: true } };
    assert.deepEqual(mergeAll([legA, legB]), mergeAll([legB, legA]));
    assert.equal(report(mergeAll([legA, legB])).status, CallStatus.CALL_STATUS_BUSY);
    assert.equal(report(mergeAll([legA, legB])).endedAtMs, T0 + 70_000, 'the last leg to end ends the call');
  });
});
