// Which stored calls a written call can change. What a call takes from its person's earlier
// calls (first or repeat, lead, the visitor a repeat caller inherits) comes from the latest
// of them, so a call written in the middle of a person's history changes at most the next
// call of that person directly; that one, if it changes, is followed in the next round, and
// so on. Re-reading every later call of the person instead costs a whole history per batch,
// which a backlog turns into quadratic work for a busy caller or visitor. Pure functions.
import { isBefore } from '../matching/call-matching.js';
import type { CallPosition } from '../store/call-lookups.js';

/** A call just written, as the search sees it ('' for a key it has not: a spam call has no visitor). */
export interface WrittenCall {
  siteId: string;
  callId: string;
  number: string;
  visitorId: string;
  atMs: number;
}

/** A lead a written call left (its stored row was in it, the new one is not), from that call on. */
export interface LeftLead {
  siteId: string;
  leadId: string;
  callId: string;
  atMs: number;
}

const personKeys = (c: { siteId: string; number: string; visitorId: string }): string[] => [
  ...(c.number ? [`${c.siteId}\nnumber\n${c.number}`] : []),
  ...(c.visitorId ? [`${c.siteId}\nvisitor\n${c.visitorId}`] : []),
];
const order = (p: CallPosition): { startedAtMs: number; callId: string } => ({ startedAtMs: p.atMs, callId: p.callId });

/**
 * The stored calls to evaluate again after `written`: for each written call and each of its
 * person keys (caller number, visitor), the next call of that key, unless it was written in the
 * same step (it was evaluated after this one already); spam calls on the way are taken too and
 * do not stop the search (spam is nobody's lead). And every later call still in a lead that a
 * written call left: they may have joined it through that call.
 */
export function callsToFollow(written: readonly WrittenCall[], positions: readonly CallPosition[], leftLeads: readonly LeftLead[] = []): CallPosition[] {
  const writtenIds = new Set(written.map((w) => `${w.siteId}\n${w.callId}`));
  const byKey = new Map<string, CallPosition[]>();
  for (const p of positions) {
    for (const key of personKeys(p)) {
      const list = byKey.get(key);
      if (list) list.push(p);
      else byKey.set(key, [p]);
    }
  }
  for (const list of byKey.values()) list.sort((a, b) => (isBefore(order(a), order(b)) ? -1 : isBefore(order(b), order(a)) ? 1 : 0));

  const out = new Map<string, CallPosition>();
  for (const w of written) {
    const at = { startedAtMs: w.atMs, callId: w.callId };
    for (const key of personKeys(w)) {
      const list = byKey.get(key) ?? [];
      // First position after w (binary search: a busy person's list is long).
      let lo = 0;
      let hi = list.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (isBefore(at, order(list[mid]!))) hi = mid;
        else lo = mid + 1;
      }
      for (let i = lo; i < list.length; i += 1) {
        const p = list[i]!;
        const id = `${p.siteId}\n${p.callId}`;
        if (writtenIds.has(id)) break;
        out.set(id, p);
        if (!p.spam) break;
      }
    }
  }
  // Positions by lead, in the order given: a scan of all positions per left lead is quadratic in a backlog.
  const byLead = new Map<string, CallPosition[]>();
  if (leftLeads.length > 0) {
    for (const p of positions) {
      const key = `${p.siteId}\n${p.leadId}`;
      const list = byLead.get(key);
      if (list) list.push(p);
      else byLead.set(key, [p]);
    }
  }
  for (const left of leftLeads) {
    const at = { startedAtMs: left.atMs, callId: left.callId };
    for (const p of byLead.get(`${left.siteId}\n${left.leadId}`) ?? []) {
      const id = `${p.siteId}\n${p.callId}`;
      if (!writtenIds.has(id) && isBefore(at, order(p))) out.set(id, p);
    }
  }
  return [...out.values()];
}
