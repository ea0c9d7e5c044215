import type { SignedCallFacts } from './call-merge.js';

/** Why an event whose signature does not cover the call id was refused: the field that disagrees. */
export interface SignedCallConflict {
  field: string;
  problem: string;
}

interface CallFacts {
  fields: Record<string, string>;
  signatures: string[];
  finalEventId: string | undefined;
}

/**
 * What the signatures of a call's accepted events bound it to, for providers
 * whose signature leaves out the call id and the outcome (Zadarma signs the
 * caller, the number dialled and call_start only). Enforces, per site:
 * - a later event of a call agrees with the earlier ones on the signed fields
 *   both carry (same caller, number dialled, start);
 * - one signature names one call: a captured notification replayed under
 *   another call id is refused;
 * - one final event per call: a replayed end with another disposition or
 *   duration is refused (a retry of the same bytes is a duplicate, not this).
 * Kept with the publisher's per-call merge state and forgotten with it
 * (bounded by CALL_MERGE_CACHE_SIZE): the residual risks are in
 * docs/telephony-providers.md#zadarma.
 */
export class SignedCallLedger {
  private readonly calls = new Map<string, CallFacts>();
  /** `siteId \n signature` → the call key it was first accepted for. */
  private readonly owners = new Map<string, string>();

  /**
   * Checks an event against what its call's earlier events bound it to and,
   * when it agrees, records it at once (so two concurrent forgeries cannot
   * both pass); returns the undo for an event that is then not stored.
   */
  claim(siteId: string, callKey: string, facts: SignedCallFacts, eventId: string): { ok: true; undo: () => void } | ({ ok: false } & SignedCallConflict) {
    const owner = this.owners.get(`${siteId}\n${facts.signature}`);
    if (owner !== undefined && owner !== callKey) {
      return { ok: false, field: 'Signature', problem: 'this signature was already used by another call: a replayed notification under a new call id' };
    }
    const known = this.calls.get(callKey);
    if (known) {
      for (const [field, value] of Object.entries(facts.fields)) {
        const first = known.fields[field];
        if (first !== undefined && first !== value) return { ok: false, field, problem: `"${value}" disagrees with "${first}" of the call's earlier notifications` };
      }
      if (facts.final && known.finalEventId !== undefined && known.finalEventId !== eventId) {
        return { ok: false, field: 'event', problem: 'the end of this call was already accepted; a different end is refused' };
      }
    }
    const before = known ? { fields: { ...known.fields }, signatures: [...known.signatures], finalEventId: known.finalEventId } : undefined;
    const next: CallFacts = known ?? { fields: {}, signatures: [], finalEventId: undefined };
    for (const [field, value] of Object.entries(facts.fields)) next.fields[field] ??= value;
    const ownerKey = `${siteId}\n${facts.signature}`;
    const newOwner = owner === undefined;
    if (newOwner) {
      this.owners.set(ownerKey, callKey);
      next.signatures.push(ownerKey);
    }
    if (facts.final) next.finalEventId ??= eventId;
    this.calls.set(callKey, next);
    return {
      ok: true,
      undo: () => {
        if (newOwner && this.owners.get(ownerKey) === callKey) this.owners.delete(ownerKey);
        if (before) this.calls.set(callKey, before);
        else this.calls.delete(callKey);
      },
    };
  }

  /** Forgets a call (evicted from the merge state). */
  forget(callKey: string): void {
    const known = this.calls.get(callKey);
    if (!known) return;
    for (const s of known.signatures) if (this.owners.get(s) === callKey) this.owners.delete(s);
    this.calls.delete(callKey);
  }

  size(): number {
    return this.calls.size;
  }
}
