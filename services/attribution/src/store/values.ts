// Value helpers for ClickHouse rows and queries: numbers and strings out of JSON results, a
// millisecond parameter as a DateTime64.

export const num = (v: unknown): number => Number(v ?? 0);

export const str = (v: unknown): string => (typeof v === 'string' ? v : '');

export const nullableNum = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

/** A query parameter holding epoch milliseconds, as a DateTime64 in UTC. */
export const TIME = (name: string): string => `fromUnixTimestamp64Milli({${name}:Int64}, 'UTC')`;
