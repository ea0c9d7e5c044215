import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { OpeningInterval } from '../settings/attribution-settings.js';
import { localTime, openingState, validTimeZone, withinSchedule } from './working-hours.js';

const at = (iso: string): number => Date.parse(iso);
// Monday to Friday 09:00-18:00.
const office: OpeningInterval[] = [1, 2, 3, 4, 5].map((weekday) => ({ weekday, fromMinute: 9 * 60, toMinute: 18 * 60 }));

describe('local time in the site time zone', () => {
  it('moves a late UTC evening into the next local day (Moscow, UTC+3)', () => {
    // Sunday 2026-11-22 21:30 UTC is Monday 00:30 in Moscow.
    assert.deepEqual(localTime(at('2026-11-22T21:30:00Z'), 'Europe/Moscow'), { date: '2026-11-23', weekday: 1, minute: 30 });
    assert.deepEqual(localTime(at('2026-11-23T00:00:00Z'), 'UTC'), { date: '2026-11-23', weekday: 1, minute: 0 });
  });

  it('follows daylight saving time (New York: UTC−5 in winter, UTC−4 from 8 March 2026)', () => {
    assert.equal(localTime(at('2026-03-02T13:30:00Z'), 'America/New_York').minute, 8 * 60 + 30);
    assert.equal(localTime(at('2026-03-09T13:30:00Z'), 'America/New_York').minute, 9 * 60 + 30);
  });

  it('falls back to UTC for an empty or unknown zone', () => {
    assert.equal(validTimeZone(''), 'UTC');
    assert.equal(validTimeZone('Mars/Olympus_Mons'), 'UTC');
    assert.equal(validTimeZone('Asia/Yekaterinburg'), 'Asia/Yekaterinburg');
    assert.equal(localTime(at('2026-11-23T10:00:00Z'), 'Mars/Olympus_Mons').minute, 600);
  });
});

describe('working hours and holidays', () => {
  it('judges a call by the local weekday and time, not the UTC ones', () => {
    // 00:30 Monday in Moscow (still Sunday in UTC): closed.
    assert.deepEqual(openingState(at('2026-11-22T21:30:00Z'), 'Europe/Moscow', office, []), { outsideHours: true, holiday: false });
    // 09:30 Monday in Moscow.
    assert.deepEqual(openingState(at('2026-11-23T06:30:00Z'), 'Europe/Moscow', office, []), { outsideHours: false, holiday: false });
    // 18:00 is closing time (exclusive); 17:59 is open.
    assert.equal(openingState(at('2026-11-23T15:00:00Z'), 'Europe/Moscow', office, []).outsideHours, true);
    assert.equal(openingState(at('2026-11-23T14:59:00Z'), 'Europe/Moscow', office, []).outsideHours, false);
    // The same instant is 06:30 in London: closed there.
    assert.equal(openingState(at('2026-11-23T06:30:00Z'), 'Europe/London', office, []).outsideHours, true);
  });

  it('runs an interval with from > to past midnight into the next day', () => {
    // Friday 20:00 until Saturday 02:00 (Moscow). 2026-11-27 is a Friday.
    const night: OpeningInterval[] = [{ weekday: 5, fromMinute: 20 * 60, toMinute: 2 * 60 }];
    const open = (iso: string) => !openingState(at(iso), 'Europe/Moscow', night, []).outsideHours;
    assert.equal(open('2026-11-27T16:59:00Z'), false, 'Fri 19:59');
    assert.equal(open('2026-11-27T17:00:00Z'), true, 'Fri 20:00');
    assert.equal(open('2026-11-27T22:30:00Z'), true, 'Sat 01:30, from the Friday interval');
    assert.equal(open('2026-11-27T23:00:00Z'), false, 'Sat 02:00');
    assert.equal(open('2026-11-28T17:30:00Z'), false, 'Sat 20:30: the interval is Friday only');
    // Sunday night to Monday morning wraps around the week.
    assert.equal(withinSchedule({ date: '2026-11-23', weekday: 1, minute: 60 }, [{ weekday: 7, fromMinute: 22 * 60, toMinute: 6 * 60 }]), true);
  });

  it('closes a holiday all day, by the local date, schedule or not', () => {
    // 2026-01-01 00:30 in Moscow is still 31 December in UTC.
    assert.deepEqual(openingState(at('2025-12-31T21:30:00Z'), 'Europe/Moscow', [], ['2026-01-01']), { outsideHours: true, holiday: true });
    assert.deepEqual(openingState(at('2025-12-31T20:30:00Z'), 'Europe/Moscow', [], ['2026-01-01']), { outsideHours: false, holiday: false });
    // Thursday 2026-01-01 10:00 would be within office hours, but it is a holiday.
    assert.deepEqual(openingState(at('2026-01-01T07:00:00Z'), 'Europe/Moscow', office, ['2026-01-01']), { outsideHours: true, holiday: true });
  });

  it('is open around the clock without a schedule', () => {
    assert.equal(openingState(at('2026-11-22T03:00:00Z'), 'Europe/Moscow', [], []).outsideHours, false);
  });
});
