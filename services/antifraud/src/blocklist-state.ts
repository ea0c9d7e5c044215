import type { AnyDomainEvent } from '@calltrack/contracts';

export interface BlockEntry {
  phone: string;
  reason: string;
  blockedAtMs: number;
}

/**
 * The caller blocklist of every site, rebuilt from the antifraud-blocklist topic:
 * the latest CallerBlocked / CallerUnblocked per site and phone wins.
 */
export class BlocklistState {
  private readonly sites = new Map<string, Map<string, BlockEntry>>();

  apply(event: AnyDomainEvent): void {
    if (event.type === 'CallerBlocked') {
      const site = this.sites.get(event.siteId) ?? new Map<string, BlockEntry>();
      site.set(event.payload.phone, { phone: event.payload.phone, reason: event.payload.reason, blockedAtMs: event.occurredAtMs });
      this.sites.set(event.siteId, site);
    } else if (event.type === 'CallerUnblocked') {
      this.sites.get(event.siteId)?.delete(event.payload.phone);
    }
  }

  lookup(siteId: string, phone: string): BlockEntry | undefined {
    if (!phone) return undefined;
    return this.sites.get(siteId)?.get(phone);
  }

  entries(siteId: string): BlockEntry[] {
    return [...(this.sites.get(siteId)?.values() ?? [])].sort((a, b) => a.phone.localeCompare(b.phone));
  }
}
