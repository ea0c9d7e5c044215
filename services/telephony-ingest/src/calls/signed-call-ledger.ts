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
  /** call_start (epoch ms): the call is forgotten once no notification of it can pass the replay window. */
  startMs: number;
}

const SWEEP_EVERY = 1024;

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
 * Fed by this instance's accepted events (claim) and by every instance's
 * reports on the calls topic (observe, SignedCallFeed), so it survives a
 * restart and spans instances. A call is kept while a notification of it can
 * still pass the replay window (`horizonMs` after its start), at most
 * `capacity` calls (the oldest first out).
 */
export class SignedCallLedger {
  private readonly calls = new Map<string, CallFacts>();
  /** `siteId \n signature` → the call key it was first accepted for. */
  private readonly owners = new Map<string, string>();
  private operations = 0;

  constructor(
    private readonly horizonMs: number,
    private readonly capacity: number,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Checks an event against what its call's earlier events bound it to and,
   * when it agrees, records it at once (so two concurrent forgeries cannot
   * both pass); returns the undo for an event that is then not stored.
   */
  claim(siteId: string, callKey: string, facts: SignedCallFacts, eventId: string): { ok: true; undo: () => void } | ({ ok: false } & SignedCallConflict) {
    const ownerKey = `${siteId}\n${facts.signature}`;
    const owner = facts.signature ? this.owners.get(ownerKey) : undefined;
    if (owner !== undefined && owner !== callKey) {
      return { ok: false, field: 'Signature', problem: 'this signature was already used by another call: a replayed notification under a new call id' };
    }
    const known = this.calls.get(callKey);
    if (known) {
      for (const [field, value] of Object.entries(facts.fields)) {
        const first = known.fields[field];
        if (first !== undefined && first !== value)
          return { ok: false, field, problem: `"${value}" disagrees with "${first}" of the call's earlier notifications` };
      }
      if (facts.final && known.finalEventId !== undefined && known.finalEventId !== eventId) {
        return { ok: false, field: 'event', problem: 'the end of this call was already accepted; a different end is refused' };
      }
    }
    const before = known ? { ...known, fields: { ...known.fields }, signatures: [...known.signatures] } : undefined;
    const registered = this.record(siteId, callKey, facts, eventId);
    return {
      ok: true,
      undo: () => {
        if (registered && this.owners.get(ownerKey) === callKey) this.owners.delete(ownerKey);
        if (before) this.calls.set(callKey, before);
        else this.calls.delete(callKey);
      },
    };
  }

  /**
   * Applies what a published report says (this instance's or another's):
   * never refuses — the topic is what was accepted — and is idempotent.
   */
  observe(siteId: string, callKey: string, facts: SignedCallFacts, eventId: string): void {
    this.record(siteId, callKey, facts, eventId);
  }

  // Merges facts into the call; true when it registered the signature as this call's.
  private record(siteId: string, callKey: string, facts: SignedCallFacts, eventId: string): boolean {
    const startMs = Number(facts.fields['call_start']);
    if (Number.isFinite(startMs) && startMs < this.now() - this.horizonMs) return false;
    const next: CallFacts = this.calls.get(callKey) ?? {
      fields: {},
      signatures: [],
      finalEventId: undefined,
      startMs: Number.isFinite(startMs) ? startMs : this.now(),
    };
    for (const [field, value] of Object.entries(facts.fields)) next.fields[field] ??= value;
    let registered = false;
    const ownerKey = `${siteId}\n${facts.signature}`;
    if (facts.signature && !this.owners.has(ownerKey)) {
      this.owners.set(ownerKey, callKey);
      next.signatures.push(ownerKey);
      registered = true;
    }
    if (facts.final) next.finalEventId ??= eventId;
    this.calls.set(callKey, next);
    if (++this.operations % SWEEP_EVERY === 0 || this.calls.size > this.capacity) this.sweep();
    return registered;
  }

  // Drops calls past the horizon, then the oldest while over capacity (Map keeps insertion order).
  private sweep(): void {
    const oldest = this.now() - this.horizonMs;
    for (const [key, c] of this.calls) if (c.startMs < oldest) this.forget(key);
    while (this.calls.size > this.capacity) this.forget(this.calls.keys().next().value!);
  }

  /** Forgets a call. */
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
