import type { SignatureFailure } from './webhook-signature.js';

/** What happened to one webhook of a known site. */
export type WebhookOutcome = 'accepted' | 'no_secret' | SignatureFailure | 'invalid_payload';

export type RejectionReason = Exclude<WebhookOutcome, 'accepted'>;

const REASONS: readonly RejectionReason[] = ['no_secret', 'missing_signature', 'malformed_signature', 'signature_mismatch', 'stale_timestamp', 'invalid_payload'];

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
    let s = this.bySite.get(siteId);
    if (!s) {
      s = { accepted: 0, rejected: Object.fromEntries(REASONS.map((r) => [r, 0])) as Record<RejectionReason, number>, lastAcceptedAt: null, lastRejectedAt: null };
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
