// Ids of derived events. A service that turns an input record into an output event must give
// the output the same id every time it handles that input: a record is redelivered after a
// crash or a rebalance (delivery is at least once), and consumers of the output recognise a
// repeat by its event id. A fresh id per attempt would make one input count twice downstream.

/**
 * The id of an event derived from `base` (the input's event id, or the id of what the event is
 * about: a lease, a call): `base` and the qualifiers joined by ':', e.g.
 * `derivedEventId(call.eventId, 'screened')` is `<event id>:screened`. The format is stored
 * data that dedupe depends on: it must never change.
 */
export function derivedEventId(base: string, ...qualifiers: Array<string | number | bigint>): string {
  return [base, ...qualifiers].join(':');
}
