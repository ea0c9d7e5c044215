import { toE164 } from '@calltrack/phone';

// What providers put in a number field when the caller is withheld.
const WITHHELD = new Set(['', 'anonymous', 'private', 'restricted', 'unknown', 'unavailable', 'withheld', 'anonymous@anonymous.invalid']);

export function isWithheld(raw: string | undefined): boolean {
  return WITHHELD.has((raw ?? '').trim().toLowerCase());
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
