// Ids of derived events. A service that turns an input record into an output event must give
// the output the same id every time it handles that input: a record is redelivered after a
// crash or a rebalance (delivery is at least once), and consumers of the output recognise a
// repeat by its event id. A fresh id per attempt would make one input count twice downstream.
import { createHash } from 'node:crypto';

/**
 * The id of an event derived from `base` (the input's event id, or the id of what the event is
 * about: a lease, a call): `base` and the qualifiers joined by ':', e.g.
 * `derivedEventId(call.eventId, 'screened')` is `<event id>:screened`. The format is stored
 * data that dedupe depends on: it must never change.
 */
export function derivedEventId(base: string, ...qualifiers: Array<string | number | bigint>): string {
  return [base, ...qualifiers].join(':');
}

/**
 * The event id of something received from outside (a provider's webhook, a form), derived from what identifies it: the
 * same thing delivered again (a provider's retry, a site's resent enquiry)
 * gets the same id, which downstream consumers dedupe on. `source` keeps the
 * adapters' ids apart (a provider name, `generic`, `enquiry`). Formatted as a
 * UUID (version 8, RFC 9562).
 */
export function eventIdOf(source: string, siteId: string, identity: string | Buffer): string {
  const h = createHash('sha256').update(`${source}\n${siteId}\n`).update(identity).digest();
  h[6] = (h[6]! & 0x0f) | 0x80;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const hex = h.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
