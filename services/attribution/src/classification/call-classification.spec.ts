import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_SETTINGS, type AttributionSettings } from '../settings/attribution-settings.js';
import { classifyCall, type ClassifiedCall, type OtherCall } from './call-classification.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
// Monday 2026-11-23 12:00 Moscow (09:00 UTC).
const T = Date.parse('2026-11-23T09:00:00Z');
const CALLER = '+79161112233';
const settings: AttributionSettings = { ...DEFAULT_SETTINGS, workingHours: [], holidays: [] };

const call = (over: Partial<ClassifiedCall> = {}): ClassifiedCall => ({
  callId: 'c',
  direction: 'inbound',
  callerNumber: CALLER,
  startedAtMs: T,
  answeredAtMs: T + 5_000,
  talkSeconds: 60,
  final: true,
  spam: false,
  ...over,
});
const inbound = (callId: string, startedAtMs: number, leadId = '', callerNumber = CALLER): OtherCall => ({
  callId,
  direction: 'inbound',
  callerNumber,
  calledNumber: '',
  startedAtMs,
  leadId,
});
const outbound = (callId: string, startedAtMs: number, calledNumber = CALLER): OtherCall => ({
  callId,
  direction: 'outbound',
  callerNumber: '+74950000000',
  calledNumber,
  startedAtMs,
  leadId: '',
});
const classify = (c: ClassifiedCall, others: OtherCall[] = [], s: AttributionSettings = settings, now = T + 1000 * DAY) =>
  classifyCall(c, others, s, 'Europe/Moscow', now);

describe('first or repeat caller', () => {
  it('is repeat when the same number called in within the window (30 days by default), else first', () => {
    assert.equal(classify(call(), [inbound('a', T - 10 * DAY)]).callerType, 'repeat');
    assert.equal(classify(call(), [inbound('a', T - 30 * DAY)]).callerType, 'repeat', 'exactly the window');
    assert.equal(classify(call(), [inbound('a', T - 30 * DAY - 1)]).callerType, 'first');
    assert.equal(classify(call(), [inbound('a', T - 10 * DAY)], { ...settings, repeatCallerWindowDays: 7 }).callerType, 'first', 'per-site window');
  });

  it('counts only earlier inbound calls of the same number', () => {
    assert.equal(classify(call(), [inbound('later', T + HOUR)]).callerType, 'first');
    assert.equal(classify(call(), [inbound('other', T - DAY, '', '+79160000000')]).callerType, 'first');
    assert.equal(classify(call(), [outbound('back', T - DAY)]).callerType, 'first', 'a call we placed to them is not them calling');
    // Same millisecond: the smaller call id came first.
    assert.equal(classify(call({ callId: 'b' }), [inbound('a', T)]).callerType, 'repeat');
    assert.equal(classify(call({ callId: 'a' }), [inbound('b', T)]).callerType, 'first');
  });

  it('has no caller type for a withheld number or an outbound call', () => {
    assert.equal(classify(call({ callerNumber: '' }), [inbound('a', T - DAY, '', '')]).callerType, '');
    assert.equal(classify(call({ direction: 'outbound' })).callerType, '');
  });
});

describe('target call', () => {
  it('is answered, not spam, and talked at least the threshold (30 s by default)', () => {
    assert.equal(classify(call({ talkSeconds: 30 })).target, true);
    assert.equal(classify(call({ talkSeconds: 29 })).target, false);
    assert.equal(classify(call({ talkSeconds: 29 }), [], { ...settings, targetCallSeconds: 20 }).target, true, 'per-site threshold');
    assert.equal(classify(call({ spam: true })).target, false);
    assert.equal(classify(call({ answeredAtMs: 0, talkSeconds: 0 }), [], { ...settings, targetCallSeconds: 0 }).target, false, 'never answered');
    assert.equal(classify(call({ direction: 'outbound' })).target, false);
  });
});

describe('missed and called back', () => {
  const missed = call({ answeredAtMs: 0, talkSeconds: 0 });

  it('is missed when an inbound call ended unanswered', () => {
    assert.equal(classify(missed).missed, true);
    assert.equal(classify(call()).missed, false);
    assert.equal(classify(call({ answeredAtMs: 0, final: false })).missed, false, 'still ringing');
    assert.equal(classify(call({ answeredAtMs: 0, direction: 'outbound' })).missed, false);
  });

  it('is called back by the first outbound call to the caller within the window (24 h by default)', () => {
    const k = classify(
      missed,
      [outbound('late', T + 5 * HOUR), outbound('back', T + 3 * HOUR), outbound('elsewhere', T + HOUR, '+79160000000')],
      settings,
      T + HOUR,
    );
    assert.deepEqual([k.callbackStatus, k.calledBackAtMs, k.callbackCallId], ['called_back', T + 3 * HOUR, 'back']);
  });

  it('is pending while the window is open, and not called back once it passed without one', () => {
    assert.equal(classify(missed, [], settings, T + 23 * HOUR).callbackStatus, 'pending');
    assert.equal(classify(missed, [], settings, T + 24 * HOUR).callbackStatus, 'not_called_back');
    // A call-back after the window does not count; one before the missed call neither.
    assert.equal(
      classify(missed, [outbound('too-late', T + 25 * HOUR), outbound('before', T - HOUR)], settings, T + 26 * HOUR).callbackStatus,
      'not_called_back',
    );
    assert.equal(
      classify(missed, [outbound('back', T + 3 * HOUR)], { ...settings, callbackWindowHours: 2 }, T + 4 * HOUR).callbackStatus,
      'not_called_back',
      'per-site window',
    );
    assert.equal(classify(call()).callbackStatus, '', 'only missed calls wait for a call-back');
  });
});

describe('working hours', () => {
  it('flags a call outside the schedule in the site zone, across midnight, and on a holiday', () => {
    const office = { ...settings, workingHours: [1, 2, 3, 4, 5].map((weekday) => ({ weekday, fromMinute: 540, toMinute: 1080 })), holidays: ['2026-12-31'] };
    assert.deepEqual([classify(call(), [], office).outsideHours, classify(call(), [], office).holiday], [false, false], 'Monday 12:00 Moscow');
    // Sunday 22:30 UTC is Monday 01:30 in Moscow: the UTC weekday would say Sunday, the schedule Monday night.
    const night = classify(call({ startedAtMs: Date.parse('2026-11-22T22:30:00Z') }), [], office);
    assert.deepEqual([night.outsideHours, night.holiday], [true, false]);
    const holiday = classify(call({ startedAtMs: Date.parse('2026-12-31T09:00:00Z') }), [], office);
    assert.deepEqual([holiday.outsideHours, holiday.holiday], [true, true], 'Thursday 12:00, but a holiday');
  });
});

describe('lead grouping', () => {
  it("groups one person's calls within the window from the lead's first call (7 days by default)", () => {
    // Calls on days 0, 5, 9 and 12: day 5 joins day 0's lead; day 9 is 9 days after that
    // lead began, so it starts a new one, which day 12 joins.
    const c0 = classify(call({ callId: 'c0', startedAtMs: T }));
    assert.equal(c0.leadId, 'c0');
    const c5 = classify(call({ callId: 'c5', startedAtMs: T + 5 * DAY }), [inbound('c0', T, c0.leadId)]);
    assert.equal(c5.leadId, 'c0');
    const c9 = classify(call({ callId: 'c9', startedAtMs: T + 9 * DAY }), [inbound('c0', T, 'c0'), inbound('c5', T + 5 * DAY, c5.leadId)]);
    assert.equal(c9.leadId, 'c9');
    const c12 = classify(call({ callId: 'c12', startedAtMs: T + 12 * DAY }), [
      inbound('c0', T, 'c0'),
      inbound('c5', T + 5 * DAY, 'c0'),
      inbound('c9', T + 9 * DAY, c9.leadId),
    ]);
    assert.equal(c12.leadId, 'c9');
    assert.equal(
      classify(call({ callId: 'c9', startedAtMs: T + 9 * DAY }), [inbound('c0', T, 'c0'), inbound('c5', T + 5 * DAY, 'c0')], {
        ...settings,
        leadWindowDays: 10,
      }).leadId,
      'c0',
      'per-site window',
    );
  });

  it("keeps other people's calls, withheld numbers and outbound calls out of a lead", () => {
    assert.equal(classify(call({ callId: 'x' }), [inbound('y', T - DAY, 'y', '+79160000000')]).leadId, 'x');
    assert.equal(classify(call({ callId: 'x', callerNumber: '' }), [inbound('y', T - DAY, 'y', '')]).leadId, 'x');
    assert.equal(classify(call({ callId: 'x', direction: 'outbound' })).leadId, '');
  });
});
