import { phoneKey, type AnyDomainEvent } from '@calltrack/contracts';

export interface BlockEntry {
  phone: string;
  reason: string;
  blockedAtMs: number;
}

/**
 * How long a write of this instance, applied on the producer's acknowledgement,
 * holds back older log records of the same site and phone while waiting to be
 * read back. Only a safety valve: normally the record comes back within a poll.
 */
export const OWN_WRITE_WAIT_MS = 60_000;

/**
 * The caller blocklist of every site, rebuilt from the antifraud-blocklist topic
 * (keyed by site and phone, so one key's records keep their order on one
 * partition): the latest CallerBlocked / CallerUnblocked per site and phone wins.
 */
export class BlocklistState {
  private readonly sites = new Map<string, Map<string, BlockEntry>>();
  // This instance's writes applied before the consumer read them back, by phoneKey.
  private readonly ownWrites = new Map<string, { eventId: string; sinceMs: number }>();

  /**
   * Applies a record read from the topic (replay or live), in log order. Each record comes once:
   * the CompactedTopicFollower that reads the topic skips what it applied already.
   */
  applyFromLog(event: AnyDomainEvent | undefined, nowMs = Date.now()): void {
    const target = blockTarget(event);
    if (!event || !target) return;
    const key = phoneKey(event.siteId, target);
    const own = this.ownWrites.get(key);
    if (own) {
      // Records of this key before our own write are older than what the state already shows.
      if (own.eventId !== event.eventId && nowMs - own.sinceMs < OWN_WRITE_WAIT_MS) return;
      this.ownWrites.delete(key);
    }
    this.change(event);
  }

  /**
   * Applies this instance's own write once Kafka acknowledged it, before the
   * consumer reads it back, so the next screened call already sees it.
   */
  applyAcknowledged(event: AnyDomainEvent, nowMs = Date.now()): void {
    const target = blockTarget(event);
    if (!target) return;
    this.ownWrites.set(phoneKey(event.siteId, target), { eventId: event.eventId, sinceMs: nowMs });
    this.change(event);
  }

  lookup(siteId: string, phone: string): BlockEntry | undefined {
    // A withheld caller (empty number) never matches.
    if (!phone) return undefined;
    return this.sites.get(siteId)?.get(phone);
  }

  entries(siteId: string): BlockEntry[] {
    return [...(this.sites.get(siteId)?.values() ?? [])].sort((a, b) => a.phone.localeCompare(b.phone));
  }

  private change(event: AnyDomainEvent): void {
    if (event.type === 'CallerBlocked') {
      const site = this.sites.get(event.siteId) ?? new Map<string, BlockEntry>();
      site.set(event.payload.phone, { phone: event.payload.phone, reason: event.payload.reason, blockedAtMs: event.occurredAtMs });
      this.sites.set(event.siteId, site);
    } else if (event.type === 'CallerUnblocked') {
      const site = this.sites.get(event.siteId);
      site?.delete(event.payload.phone);
      if (site?.size === 0) this.sites.delete(event.siteId);
    }
  }
}

function blockTarget(event: AnyDomainEvent | undefined): string | undefined {
  if (event?.type === 'CallerBlocked' || event?.type === 'CallerUnblocked') return event.payload.phone;
  return undefined;
}
