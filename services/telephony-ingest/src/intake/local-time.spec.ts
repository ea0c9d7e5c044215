import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isTimeZone, wallClockToEpochMs } from './local-time.js';

describe('wall-clock times in a site time zone', () => {
  it('reads a local time in the zone', () => {
    assert.equal(wallClockToEpochMs('2025-03-01 13:00:00', 'Europe/Moscow'), Date.UTC(2025, 2, 1, 10, 0, 0));
    assert.equal(wallClockToEpochMs('2025-03-01 13:00:00', 'UTC'), Date.UTC(2025, 2, 1, 13, 0, 0));
    assert.equal(wallClockToEpochMs('2025-03-01T05:00:00.250', 'America/New_York'), Date.UTC(2025, 2, 1, 10, 0, 0, 250));
  });

  it('follows daylight saving time', () => {
    assert.equal(wallClockToEpochMs('2025-07-01 12:00:00', 'Europe/Berlin'), Date.UTC(2025, 6, 1, 10, 0, 0));
    assert.equal(wallClockToEpochMs('2025-01-01 12:00:00', 'Europe/Berlin'), Date.UTC(2025, 0, 1, 11, 0, 0));
    // 02:30 happens twice on 2025-10-26 in Berlin: the first one (still summer time) is taken.
    assert.equal(wallClockToEpochMs('2025-10-26 02:30:00', 'Europe/Berlin'), Date.UTC(2025, 9, 26, 0, 30, 0));
  });

  it('refuses other formats, impossible dates and unknown zones', () => {
    for (const text of ['01.03.2025 13:00:00', '2025-03-01', '2025-02-30 10:00:00', '2025-03-01 24:00:00', '2025-03-01T13:00:00Z']) {
      assert.equal(wallClockToEpochMs(text, 'UTC'), undefined, text);
    }
    assert.equal(wallClockToEpochMs('2025-03-01 13:00:00', 'Mars/Olympus'), undefined);
    assert.equal(isTimeZone('Europe/Moscow'), true);
    assert.equal(isTimeZone('Mars/Olympus'), false);
  });
});
