import { siteKey, type calltrack, type DomainEvent } from '@calltrack/contracts';
import {
  credentialsFromRecord,
  isWebhookProvider,
  providerCredentialsKey,
  type CredentialsOf,
  type ProviderCredentials,
  type WebhookProvider,
} from './provider-credentials.js';

export const MIN_SECRET_LENGTH = 32;
export const MAX_SECRET_LENGTH = 256;

export interface SiteView {
  country: string;
  /** Undefined until a WebhookSecretSet was seen for the site. */
  secret: string | undefined;
}

/** What provider adapters need of a site besides its credentials. */
export interface SiteSettings {
  country: string;
  /** IANA zone; providers that send local wall-clock times (Zadarma, Asterisk CDRs) are read in it. */
  timeZone: string;
  /** The site's own number (E.164): the line of an outbound call whose provider does not say which line was used. */
  defaultNumber: string;
}

/** Outcome of applying a record: a refused one is a bad record (dead-lettered by the consumer). */
export type ApplyResult = { applied: true } | { applied: false; problem: string };

/**
 * What telephony-ingest knows about each site: its country, time zone and
 * default number (from sites), its generic webhook secret and its providers'
 * credentials (from telephony-secrets). The two topics arrive independently,
 * so either may come first; a site is known once its SiteConfigured was seen.
 */
export class IngestState {
  private readonly countries = new Map<string, string>();
  private readonly settings = new Map<string, SiteSettings>();
  private readonly secrets = new Map<string, string>();
  private readonly credentials = new Map<string, Map<WebhookProvider, ProviderCredentials>>();

  apply(event: DomainEvent, key: string | null): ApplyResult {
    const provider = event.type === 'WebhookSecretSet' ? (event.payload as calltrack.events.v1.WebhookSecretSet).provider : '';
    // The key decides the partition and compaction: a record keyed for another site (or provider) is refused, not trusted.
    if (provider && !isWebhookProvider(provider)) return { applied: false, problem: `unknown provider "${provider}"` };
    const expectedKey = provider ? providerCredentialsKey(event.siteId, provider as WebhookProvider) : siteKey(event.siteId);
    if (key !== null && key !== expectedKey)
      return { applied: false, problem: `record key "${key}" does not match site ${event.siteId}${provider ? ` and provider ${provider}` : ''}` };
    switch (event.type) {
      case 'SiteConfigured': {
        const p = event.payload as calltrack.events.v1.SiteConfigured;
        if (!p.country) return { applied: false, problem: 'SiteConfigured without country' };
        this.countries.set(event.siteId, p.country.toUpperCase());
        this.settings.set(event.siteId, { country: p.country.toUpperCase(), timeZone: p.timeZone || 'UTC', defaultNumber: p.defaultNumber });
        return { applied: true };
      }
      case 'WebhookSecretSet': {
        const p = event.payload as calltrack.events.v1.WebhookSecretSet;
        if (provider) return this.applyCredentials(event.siteId, p);
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

  private applyCredentials(siteId: string, p: calltrack.events.v1.WebhookSecretSet): ApplyResult {
    const read = credentialsFromRecord(p);
    if (!read.ok) return { applied: false, problem: read.problem };
    let bySite = this.credentials.get(siteId);
    if (!bySite) this.credentials.set(siteId, (bySite = new Map()));
    bySite.set(read.credentials.provider, read.credentials);
    return { applied: true };
  }

  isKnownSite(siteId: string): boolean {
    return this.countries.has(siteId);
  }

  site(siteId: string): SiteView | undefined {
    const country = this.countries.get(siteId);
    if (country === undefined) return undefined;
    return { country, secret: this.secrets.get(siteId) };
  }

  siteSettings(siteId: string): SiteSettings | undefined {
    return this.settings.get(siteId);
  }

  /** A provider's credentials for a site, undefined until set. */
  providerCredentials<P extends WebhookProvider>(siteId: string, provider: P): CredentialsOf<P> | undefined {
    return this.credentials.get(siteId)?.get(provider) as CredentialsOf<P> | undefined;
  }

  /** Which providers have credentials for a site. */
  configuredProviders(siteId: string): WebhookProvider[] {
    return [...(this.credentials.get(siteId)?.keys() ?? [])].sort();
  }

  hasSecret(siteId: string): boolean {
    return this.secrets.has(siteId);
  }

  counts(): { sites: number; secrets: number; providerCredentials: number } {
    let providerCredentials = 0;
    for (const m of this.credentials.values()) providerCredentials += m.size;
    return { sites: this.countries.size, secrets: this.secrets.size, providerCredentials };
  }
}
