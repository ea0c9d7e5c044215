import { createHash } from 'node:crypto';

/**
 * The event id of something received, derived from what identifies it: the
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
