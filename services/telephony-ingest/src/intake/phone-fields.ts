import { toE164 } from '@calltrack/phone';

// What providers put in a number field when the caller is withheld: words, Asterisk's
// "<unknown>", RFC 3323's anonymous URI, and Twilio's keypad spellings of ANONYMOUS,
// RESTRICTED, UNKNOWN and UNAVAILABLE (+266696687, +7378742833, +8656696, +86282452253).
const WITHHELD = new Set([
  '',
  'anonymous',
  'private',
  'restricted',
  'unknown',
  'unavailable',
  'withheld',
  '<unknown>',
  'anonymous@anonymous.invalid',
  '+266696687',
  '266696687',
  '+7378742833',
  '7378742833',
  '+8656696',
  '8656696',
  '+86282452253',
  '86282452253',
]);

export function isWithheld(raw: string | undefined): boolean {
  const value = (raw ?? '').trim().toLowerCase();
  if (WITHHELD.has(value)) return true;
  // sip:anonymous@anonymous.invalid, tel:restricted…: a URI whose user part is one of the words.
  const user = uriNumber(value);
  return user !== undefined && WITHHELD.has(user.trim().toLowerCase());
}

/** A caller field read by the one rule of every adapter: withheld, a number, or garbage. */
export type CallerReading = { ok: true; number: string } | { ok: false; problem: string };

/**
 * The caller of an inbound call (docs/telephony-providers.md#caller-numbers):
 * withheld values (empty, "anonymous", "restricted", Twilio's +266696687…) are
 * '' (stored as withheld); a phone number, bare or as the user part of a
 * sip:/tel: URI, is E.164 with the site's country; anything else ("ABCDEFG",
 * 40 digits, sip:evil@host) is a problem the adapter refuses with a 400.
 */
export function readCaller(raw: string | undefined, country: string): CallerReading {
  if (raw === undefined || isWithheld(raw)) return { ok: true, number: '' };
  const value = raw.trim();
  const e164 = toE164(uriNumber(value) ?? value, country);
  if (e164) return { ok: true, number: e164 };
  return {
    ok: false,
    problem: `"${value.slice(0, 64)}" is neither a phone number (site country ${country}) nor a withheld caller (empty, "anonymous", "restricted"…)`,
  };
}

/**
 * A provider's number field in E.164 with the site's country, or '' when it is
 * withheld or not a phone number at all (an extension, "client:alice", a SIP
 * URI without a number).
 */
export function phoneOrEmpty(raw: string | undefined, country: string): string {
  if (raw === undefined || isWithheld(raw)) return '';
  const value = raw.trim();
  const fromUri = uriNumber(value);
  return toE164(fromUri ?? value, country) ?? '';
}

/**
 * The user part of a `sip:`, `sips:` or `tel:` URI ("sip:+74951234567@host;user=phone"
 * → "+74951234567"), undefined when the value is no such URI.
 */
export function uriNumber(value: string): string | undefined {
  const m = /^(?:sips?|tel):([^@;?>]+)/i.exec(value.trim());
  if (!m) return undefined;
  try {
    return decodeURIComponent(m[1]!);
  } catch {
    return m[1]!;
  }
}

// Splits a header value into its comma-separated entries, ignoring commas inside quotes and <...>.
function headerEntries(value: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (c === '"' && value[i - 1] !== '\\') quoted = !quoted;
    else if (!quoted && c === '<') depth++;
    else if (!quoted && c === '>') depth = Math.max(0, depth - 1);
    else if (!quoted && depth === 0 && c === ',') {
      out.push(value.slice(start, i).trim());
      start = i + 1;
    }
  }
  out.push(value.slice(start).trim());
  return out.filter(Boolean);
}

// The URI of one name-addr / addr-spec entry: inside <...> when present.
function entryUri(entry: string): string {
  const inAngle = /<([^>]*)>/.exec(entry);
  return (inAngle ? inAngle[1]! : entry.split(';')[0]!).trim();
}

/**
 * The number a carrier forwarded from, i.e. what the caller dialled, from a
 * SIP `Diversion` header (RFC 5806): every forward adds an entry on top, so
 * the last entry is the original one. Undefined when absent or not a number.
 */
export function diversionNumber(header: string | undefined, country: string): string | undefined {
  if (!header?.trim()) return undefined;
  const entries = headerEntries(header);
  for (let i = entries.length - 1; i >= 0; i--) {
    const n = phoneOrEmpty(entryUri(entries[i]!), country);
    if (n) return n;
  }
  return undefined;
}

/**
 * The originally dialled number from a SIP `History-Info` header (RFC 7044):
 * the entry with the shortest index (1, 1.1 …) is the first target.
 */
export function historyInfoNumber(header: string | undefined, country: string): string | undefined {
  if (!header?.trim()) return undefined;
  const entries = headerEntries(header).map((e, position) => {
    const index = /;\s*index=([\d.]+)/i.exec(e)?.[1];
    return { e, depth: index ? index.split('.').length : Number.MAX_SAFE_INTEGER, position };
  });
  entries.sort((a, b) => a.depth - b.depth || a.position - b.position);
  for (const { e } of entries) {
    const n = phoneOrEmpty(entryUri(e), country);
    if (n) return n;
  }
  return undefined;
}
