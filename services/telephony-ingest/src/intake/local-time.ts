// Providers that send wall-clock times without a zone ("2025-03-01 13:00:00":
// Zadarma's call_start, Asterisk CDR times) mean the account's or PBX's local
// time; these helpers read such a time in the site's IANA zone using the
// runtime's own zone data (Intl), not a hand-kept offset table.

const WALL_CLOCK = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?$/;

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

export function isTimeZone(timeZone: string): boolean {
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

// Offset of the zone from UTC at an instant, in ms (e.g. +3 h for Europe/Moscow).
function zoneOffsetMs(instantMs: number, timeZone: string): number {
  const parts: Record<string, number> = {};
  for (const p of formatter(timeZone).formatToParts(new Date(instantMs))) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  const asUtc = Date.UTC(parts['year']!, parts['month']! - 1, parts['day'], parts['hour'], parts['minute'], parts['second']);
  return asUtc - Math.floor(instantMs / 1000) * 1000;
}

/**
 * Epoch ms of a wall-clock time ("YYYY-MM-DD HH:MM:SS[.ffffff]") in an IANA
 * zone, or undefined when the text is no such time or the date does not exist.
 * A time repeated by a DST change is read as its first occurrence.
 */
export function wallClockToEpochMs(text: string, timeZone: string): number | undefined {
  const m = WALL_CLOCK.exec(text.trim());
  if (!m || !isTimeZone(timeZone)) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const fraction = m[7] ? Math.floor(Number(`0.${m[7]}`) * 1000) : 0;
  const asUtc = Date.UTC(y, mo - 1, d, h, mi, s);
  const check = new Date(asUtc);
  if (check.getUTCFullYear() !== y || check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== d || h > 23 || mi > 59 || s > 59) return undefined;
  // The zone's offsets a day before and after cover any DST change around the time: a candidate is
  // valid when the zone really has that offset at it. Two valid ones: a repeated hour, take the first.
  // None: the time falls in a gap (clocks jumped forward) and is read with the offset from before.
  const DAY = 86_400_000;
  const before = zoneOffsetMs(asUtc - DAY, timeZone);
  const after = zoneOffsetMs(asUtc + DAY, timeZone);
  const valid = [before, after].map((o) => asUtc - o).filter((t) => zoneOffsetMs(t, timeZone) === asUtc - t);
  const ms = valid.length > 0 ? Math.min(...valid) : asUtc - before;
  return ms + fraction;
}
