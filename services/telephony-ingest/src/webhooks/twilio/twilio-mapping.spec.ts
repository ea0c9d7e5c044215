import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { calltrack } from '@calltrack/contracts';
import { callReport, CallStage, mergeObservation, type CallObservation, type MergedCall } from '../../calls/call-merge.js';
import { mapTwilioStatusCallback } from './twilio-mapping.js';

const { CallStatus, CallDirection } = calltrack.events.v1;
const SID = 'CA5d8f1c0e2b3a4f69788a9b0c1d2e3f40';
const RECEIVED = Date.UTC(2025, 2, 1, 12, 0, 0);

/** A status callback as Twilio posts it (voice webhooks docs: call-progress-events). */
function callback(over: Record<string, string> = {}): Record<string, string> {
  return {
    AccountSid: 'AC0123456789abcdef0123456789abcdef',
    ApiVersion: '2010-04-01',
    CallSid: SID,
    CallStatus: 'ringing',
    Called: '+14155550123',
    Caller: '+16175551212',
    Direction: 'inbound',
    From: '+16175551212',
    To: '+14155550123',
    Timestamp: 'Sat, 01 Mar 2025 10:00:00 +0000',
    CallbackSource: 'call-progress-events',
    SequenceNumber: '1',
    ...over,
  };
}

function observe(form: Record<string, string>, country = 'US') {
  const r = mapTwilioStatusCallback(form, country, 'site-1', RECEIVED);
  assert.equal(r.kind, 'call', JSON.stringify(r));
  return r;
}

describe('Twilio status callback mapping', () => {
  it('maps ringing: the tracking number is To, the caller From, start at Timestamp', () => {
    const { observation, eventId } = observe(callback());
    assert.deepEqual(observation, {
      provider: 'twilio',
      providerCallId: SID,
      stage: CallStage.start,
      providerSequence: 1,
      parties: { direction: 'inbound', trackingNumber: '+14155550123', callerNumber: '+16175551212', calledNumber: '', rank: 2 },
      startedAt: { ms: Date.UTC(2025, 2, 1, 10, 0, 0), exact: true },
    });
    assert.match(eventId, /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(observe(callback()).eventId, eventId, 'a retried callback has the same event id');
    assert.notEqual(observe(callback({ CallStatus: 'in-progress', SequenceNumber: '2' })).eventId, eventId);
  });

  it('maps in-progress to the answer and completed to the end, answered CallDuration seconds before', () => {
    const answered = observe(callback({ CallStatus: 'in-progress', SequenceNumber: '2', Timestamp: 'Sat, 01 Mar 2025 10:00:07 +0000' })).observation;
    assert.equal(answered.stage, CallStage.answer);
    assert.deepEqual(answered.answeredAt, { ms: Date.UTC(2025, 2, 1, 10, 0, 7), exact: true });
    const completed = observe(
      callback({ CallStatus: 'completed', SequenceNumber: '3', CallDuration: '53', Duration: '1', Timestamp: 'Sat, 01 Mar 2025 10:01:00 +0000' }),
    ).observation;
    assert.equal(completed.stage, CallStage.end);
    assert.equal(completed.outcome, 'completed');
    assert.deepEqual(completed.endedAt, { ms: Date.UTC(2025, 2, 1, 10, 1, 0), exact: true });
    assert.deepEqual(completed.answeredAt, { ms: Date.UTC(2025, 2, 1, 10, 0, 7), exact: false });
  });

  it('maps the unanswered ends', () => {
    const outcome = (CallStatus: string) => observe(callback({ CallStatus, SequenceNumber: '3' })).observation.outcome;
    assert.equal(outcome('busy'), 'busy');
    assert.equal(outcome('failed'), 'failed');
    assert.equal(outcome('no-answer'), 'missed');
    assert.equal(outcome('canceled'), 'missed');
    assert.equal(observe(callback({ CallStatus: 'no-answer' })).observation.answeredAt, undefined);
  });

  it('merges the documented callback sequence into one completed call, in any order', () => {
    const events = [
      callback({ CallStatus: 'initiated', SequenceNumber: '0', Timestamp: 'Sat, 01 Mar 2025 09:59:59 +0000' }),
      callback({ CallStatus: 'ringing', SequenceNumber: '1' }),
      callback({ CallStatus: 'in-progress', SequenceNumber: '2', Timestamp: 'Sat, 01 Mar 2025 10:00:07 +0000' }),
      callback({
        CallStatus: 'completed',
        SequenceNumber: '3',
        CallDuration: '53',
        Timestamp: 'Sat, 01 Mar 2025 10:01:00 +0000',
        RecordingUrl: 'https://api.twilio.com/2010-04-01/Accounts/AC0/Recordings/RE1',
      }),
    ].map((e) => observe(e).observation);
    const merge = (list: CallObservation[]) => list.reduce<MergedCall | undefined>((c, o) => mergeObservation(c, o), undefined)!;
    for (const order of [events, [...events].reverse(), [events[3]!, events[0]!, events[2]!, events[1]!]]) {
      const r = callReport(merge(order), { defaultNumber: '' });
      assert.ok(r.ok);
      assert.equal(r.payload.status, CallStatus.CALL_STATUS_COMPLETED);
      assert.equal(r.payload.startedAtMs, Date.UTC(2025, 2, 1, 9, 59, 59));
      assert.equal(r.payload.answeredAtMs, Date.UTC(2025, 2, 1, 10, 0, 7));
      assert.equal(r.payload.endedAtMs, Date.UTC(2025, 2, 1, 10, 1, 0));
      assert.equal(r.payload.recordingUrl, 'https://api.twilio.com/2010-04-01/Accounts/AC0/Recordings/RE1');
    }
  });

  it('takes the tracking number from ForwardedFrom when a carrier forwarded the call', () => {
    const { observation } = observe(callback({ ForwardedFrom: '+14155550999' }));
    assert.equal(observation.parties?.trackingNumber, '+14155550999');
  });

  it('normalises national numbers with the site country and treats Anonymous as withheld', () => {
    const { observation } = observe(callback({ To: '84951234567', From: 'Anonymous' }), 'RU');
    assert.equal(observation.parties?.trackingNumber, '+74951234567');
    assert.equal(observation.parties?.callerNumber, '');
  });

  it('maps a call placed through the API as outbound from From to To', () => {
    const { observation } = observe(callback({ Direction: 'outbound-api', From: '+14155550123', To: '+16175551212' }));
    assert.deepEqual(observation.parties, {
      direction: 'outbound',
      trackingNumber: '+14155550123',
      callerNumber: '+14155550123',
      calledNumber: '+16175551212',
      rank: 2,
    });
    const r = callReport(mergeObservation(undefined, observation), { defaultNumber: '' });
    assert.ok(r.ok);
    assert.equal(r.payload.direction, CallDirection.CALL_DIRECTION_OUTBOUND);
  });

  it('ignores the child legs of a <Dial>', () => {
    assert.equal(mapTwilioStatusCallback(callback({ Direction: 'outbound-dial', ParentCallSid: 'CA' + '1'.repeat(32) }), 'US', 's', RECEIVED).kind, 'ignored');
  });

  it('falls back to the receipt time without Timestamp', () => {
    const { Timestamp: _omit, ...noTimestamp } = callback();
    assert.deepEqual(observe(noTimestamp).observation.startedAt, { ms: RECEIVED, exact: false });
  });

  it('names what is malformed', () => {
    const problems = (form: Record<string, string>) => {
      const r = mapTwilioStatusCallback(form, 'US', 's', RECEIVED);
      assert.equal(r.kind, 'invalid');
      return r.kind === 'invalid' ? r.problems.map((p) => p.field) : [];
    };
    assert.deepEqual(problems(callback({ CallSid: 'CA123' })), ['CallSid']);
    assert.deepEqual(problems(callback({ CallStatus: 'answered' })), ['CallStatus']);
    assert.deepEqual(problems(callback({ Timestamp: 'yesterday' })), ['Timestamp']);
    assert.deepEqual(problems(callback({ CallDuration: '-3' })), ['CallDuration']);
    assert.deepEqual(problems(callback({ To: 'sip:desk@example.sip.twilio.com' })), ['To']);
    assert.deepEqual(problems(callback({ Direction: 'sideways' })), ['Direction']);
    const { To: _to, ...noTo } = callback();
    assert.deepEqual(problems(noTo), ['To']);
  });

  it("reads From by the one caller rule: Twilio's anonymous numbers stay withheld, garbage is refused naming From", () => {
    for (const withheld of [...['', 'anonymous', 'Anonymous', 'restricted', 'sip:anonymous@anonymous.invalid'], '+266696687', '+7378742833', '+86282452253'])
      assert.equal(observe(callback({ From: withheld })).observation.parties?.callerNumber, '', withheld);
    for (const garbage of ['ABCDEFG', '1'.repeat(40), 'sip:evil@example.com']) {
      const r = mapTwilioStatusCallback(callback({ From: garbage }), 'US', 's', RECEIVED);
      assert.deepEqual(r.kind === 'invalid' && r.problems.map((p) => p.field), ['From'], garbage);
    }
  });

  it('names the field each time comes from, for the time window', () => {
    const r = mapTwilioStatusCallback(callback({ CallStatus: 'completed', CallDuration: '30' }), 'US', 's', RECEIVED);
    assert.deepEqual(r.kind === 'call' && r.timeFields, { startedAt: 'CallDuration', answeredAt: 'CallDuration', endedAt: 'Timestamp' });
  });
});
