// Whether a call came in while the site was open: local time in the site's IANA
// time zone (Intl, i.e. the ICU time-zone database Node ships, with its DST rules),
// the site's weekly working hours and its holiday dates.
import type { OpeningInterval } from '../settings/attribution-settings.js';

export interface LocalTime {
  /** YYYY-MM-DD in the zone. */
  date: string;
  /** ISO weekday: 1 Monday … 7 Sunday. */
  weekday: number;
  /** Minutes after local midnight. */
  minute: number;
}

const WEEKDAY: Readonly<Record<string, number>> = { Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6, Sun: 7 };
const formatters = new Map<string, Intl.DateTimeFormat>();
const checkedZones = new Map<string, string>();

/** The zone to use: the site's when it is a valid IANA name, else UTC. */
export function validTimeZone(zone: string | null | undefined): string {
  if (!zone) return 'UTC';
  let valid = checkedZones.get(zone);
  if (valid === undefined) {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: zone });
      valid = zone;
    } catch {
      valid = 'UTC';
    }
    checkedZones.set(zone, valid);
  }
  return valid;
}

function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      weekday: 'short',
      hour: '2-digit',
      minute: '2-digit',
    });
    formatters.set(zone, f);
  }
  return f;
}

/** Local date, weekday and minute of an instant in a time zone. */
export function localTime(ms: number, zone: string): LocalTime {
  const parts: Record<string, string> = {};
  for (const p of formatter(validTimeZone(zone)).formatToParts(new Date(ms))) parts[p.type] = p.value;
  return {
    date: `${parts['year']}-${parts['month']}-${parts['day']}`,
    weekday: WEEKDAY[parts['weekday'] ?? ''] ?? 1,
    minute: Number(parts['hour']) * 60 + Number(parts['minute']),
  };
}

/**
 * Whether a local time falls in the weekly schedule. An interval runs from `fromMinute`
 * (inclusive) to `toMinute` (exclusive) of its weekday; one with from > to runs past
 * midnight and ends at `toMinute` of the next day.
 */
export function withinSchedule(t: LocalTime, schedule: readonly OpeningInterval[]): boolean {
  const previous = t.weekday === 1 ? 7 : t.weekday - 1;
  return schedule.some((i) => {
    if (i.weekday === t.weekday) return i.fromMinute < i.toMinute ? t.minute >= i.fromMinute && t.minute < i.toMinute : t.minute >= i.fromMinute;
    return i.weekday === previous && i.fromMinute > i.toMinute && t.minute < i.toMinute;
  });
}

/**
 * Outside working hours: on a holiday (the local date is one of the site's), or
 * outside the weekly schedule. No schedule means open around the clock.
 */
export function openingState(
  ms: number,
  zone: string,
  schedule: readonly OpeningInterval[],
  holidays: readonly string[],
): { outsideHours: boolean; holiday: boolean } {
  const t = localTime(ms, zone);
  const holiday = holidays.includes(t.date);
  return { holiday, outsideHours: holiday || (schedule.length > 0 && !withinSchedule(t, schedule)) };
}
