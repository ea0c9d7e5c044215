import { countWebhook } from './webhook-metrics.js';
import type { SignatureFailure } from './webhook-signature.js';

/** What happened to one webhook of a known site. */
export type WebhookOutcome = 'accepted' | 'no_secret' | SignatureFailure | 'invalid_payload';

export type RejectionReason = Exclude<WebhookOutcome, 'accepted'>;

const REASONS: readonly RejectionReason[] = [
  'no_secret',
  'missing_signature',
  'malformed_signature',
  'signature_mismatch',
  'stale_timestamp',
  'invalid_payload',
];

export interface SiteWebhookStats {
  accepted: number;
  rejected: Record<RejectionReason, number>;
  lastAcceptedAt: string | null;
  lastRejectedAt: string | null;
}

/**
 * Per-site counters of webhooks by outcome, since this instance started (the
 * alerting signal for forged or misconfigured senders). Only known sites are
 * counted, so requests for made-up site ids cannot grow memory.
 */
export class WebhookStats {
  private readonly bySite = new Map<string, SiteWebhookStats>();

  record(siteId: string, outcome: WebhookOutcome, nowMs: number = Date.now()): void {
    if (outcome === 'accepted') countWebhook('generic', 'accepted');
    else countWebhook('generic', 'refused', outcome);
    let s = this.bySite.get(siteId);
    if (!s) {
      s = {
        accepted: 0,
        rejected: Object.fromEntries(REASONS.map((r) => [r, 0])) as Record<RejectionReason, number>,
        lastAcceptedAt: null,
        lastRejectedAt: null,
      };
      this.bySite.set(siteId, s);
    }
    const at = new Date(nowMs).toISOString();
    if (outcome === 'accepted') {
      s.accepted += 1;
      s.lastAcceptedAt = at;
    } else {
      s.rejected[outcome] += 1;
      s.lastRejectedAt = at;
    }
  }

  of(siteId: string): SiteWebhookStats & { rejectedTotal: number } {
    const s = this.bySite.get(siteId) ?? {
      accepted: 0,
      rejected: Object.fromEntries(REASONS.map((r) => [r, 0])) as Record<RejectionReason, number>,
      lastAcceptedAt: null,
      lastRejectedAt: null,
    };
    const rejectedTotal = Object.values(s.rejected).reduce((a, b) => a + b, 0);
    return { ...s, rejected: { ...s.rejected }, rejectedTotal };
  }
}

/** Why a provider's webhook (or an AMI event) was refused. */
export type ProviderRejection = 'no_credentials' | 'source_not_allowed' | SignatureFailure | 'invalid_payload' | 'conflicting_event';
const PROVIDER_REASONS: readonly ProviderRejection[] = [
  'no_credentials',
  'source_not_allowed',
  'missing_signature',
  'malformed_signature',
  'signature_mismatch',
  'stale_timestamp',
  'invalid_payload',
  'conflicting_event',
];

/** What happened to one event of a provider adapter: `ignored` = verified but of a kind that says nothing about a call. */
export type ProviderOutcome = 'accepted' | 'ignored' | ProviderRejection;

export interface ProviderStats {
  accepted: number;
  ignored: number;
  rejected: Record<ProviderRejection, number>;
  rejectedTotal: number;
  lastAcceptedAt: string | null;
  lastRejectedAt: string | null;
}

const emptyProviderStats = (): ProviderStats => ({
  accepted: 0,
  ignored: 0,
  rejected: Object.fromEntries(PROVIDER_REASONS.map((r) => [r, 0])) as Record<ProviderRejection, number>,
  rejectedTotal: 0,
  lastAcceptedAt: null,
  lastRejectedAt: null,
});

/**
 * Per-site, per-provider counters of the provider adapters' events by outcome
 * and refusal reason, since this instance started. Like WebhookStats, only
 * known sites are counted.
 */
export class ProviderWebhookStats {
  private readonly bySite = new Map<string, Map<string, ProviderStats>>();

  record(siteId: string, provider: string, outcome: ProviderOutcome, nowMs: number = Date.now()): void {
    if (outcome === 'accepted' || outcome === 'ignored') countWebhook(provider, outcome);
    else countWebhook(provider, 'refused', outcome);
    let site = this.bySite.get(siteId);
    if (!site) this.bySite.set(siteId, (site = new Map()));
    let s = site.get(provider);
    if (!s) site.set(provider, (s = emptyProviderStats()));
    const at = new Date(nowMs).toISOString();
    if (outcome === 'accepted' || outcome === 'ignored') {
      s[outcome] += 1;
      s.lastAcceptedAt = at;
    } else {
      s.rejected[outcome] += 1;
      s.rejectedTotal += 1;
      s.lastRejectedAt = at;
    }
  }

  of(siteId: string, provider: string): ProviderStats {
    const s = this.bySite.get(siteId)?.get(provider) ?? emptyProviderStats();
    return { ...s, rejected: { ...s.rejected } };
  }
}
