import { siteKey, type calltrack, type DomainEvent } from '@calltrack/contracts';

export const MIN_SECRET_LENGTH = 32;
export const MAX_SECRET_LENGTH = 256;

export interface SiteView {
  country: string;
  /** Undefined until a WebhookSecretSet was seen for the site. */
  secret: string | undefined;
}

/** Outcome of applying a record: a refused one is a bad record (dead-lettered by the consumer). */
export type ApplyResult = { applied: true } | { applied: false; problem: string };

/**
 * What telephony-ingest knows about each site: its country (from sites) and
 * webhook secret (from telephony-secrets). The two topics arrive independently,
 * so either may come first; a site is known once its SiteConfigured was seen.
 */
export class IngestState {
  private readonly countries = new Map<string, string>();
  private readonly secrets = new Map<string, string>();

  apply(event: DomainEvent, key: string | null): ApplyResult {
    // The key decides the partition and compaction: a record keyed for another site is refused, not trusted.
    if (key !== null && key !== siteKey(event.siteId)) return { applied: false, problem: `record key "${key}" does not match site ${event.siteId}` };
    switch (event.type) {
      case 'SiteConfigured': {
        const p = event.payload as calltrack.events.v1.SiteConfigured;
        if (!p.country) return { applied: false, problem: 'SiteConfigured without country' };
        this.countries.set(event.siteId, p.country.toUpperCase());
        return { applied: true };
      }
      case 'WebhookSecretSet': {
        const p = event.payload as calltrack.events.v1.WebhookSecretSet;
        if (p.secret.length < MIN_SECRET_LENGTH || p.secret.length > MAX_SECRET_LENGTH) {
          return { applied: false, problem: `webhook secret must be ${MIN_SECRET_LENGTH}..${MAX_SECRET_LENGTH} characters` };
        }
        this.secrets.set(event.siteId, p.secret);
        return { applied: true };
      }
      default:
        return { applied: false, problem: `unexpected event ${event.type}` };
    }
  }

  isKnownSite(siteId: string): boolean {
    return this.countries.has(siteId);
  }

  site(siteId: string): SiteView | undefined {
    const country = this.countries.get(siteId);
    if (country === undefined) return undefined;
    return { country, secret: this.secrets.get(siteId) };
  }

  hasSecret(siteId: string): boolean {
    return this.secrets.has(siteId);
  }

  counts(): { sites: number; secrets: number } {
    return { sites: this.countries.size, secrets: this.secrets.size };
  }
}
