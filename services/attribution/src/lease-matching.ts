/** A lease of the dialled number granted before the call started, from ClickHouse. */
export interface LeaseCandidate {
  leaseId: string;
  sessionId: string;
  visitorId: string;
  grantedAtMs: number;
  expiresAtMs: number;
  /** 0 while the lease is live. */
  releasedAtMs: number;
}

export interface LeaseMatch {
  lease: LeaseCandidate;
  reason: 'lease_active' | 'lease_released_within_grace';
}

/**
 * The lease a call belongs to: among leases of the dialled number granted at or
 * before the call started, the latest one whose window (until release, or until
 * expiry if no release was recorded yet) plus the grace period contains the
 * call. The latest grant wins because a number is only re-leased once free:
 * a later lease means the earlier visitor's hold had ended.
 */
export function matchLease(candidates: readonly LeaseCandidate[], callStartMs: number, graceMs: number): LeaseMatch | undefined {
  const ordered = [...candidates].filter((c) => c.grantedAtMs <= callStartMs).sort((a, b) => b.grantedAtMs - a.grantedAtMs);
  for (const lease of ordered) {
    const end = lease.releasedAtMs || lease.expiresAtMs;
    if (callStartMs <= end) return { lease, reason: 'lease_active' };
    if (callStartMs <= end + graceMs) return { lease, reason: 'lease_released_within_grace' };
    // The latest lease ended too long ago; an older one ended even earlier.
    return undefined;
  }
  return undefined;
}

const FINAL_STATUSES = new Set(['completed', 'missed', 'busy', 'failed']);

export const isFinalStatus = (status: string): boolean => FINAL_STATUSES.has(status);

