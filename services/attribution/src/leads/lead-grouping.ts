// Leads across calls and enquiries: one person's contacts within the site's lead window
// count as one lead. A person is a phone number or a visitor: two contacts are the same
// person when they share a non-empty phone or a non-empty visitor id. Pure functions;
// docs/enquiries.md states the rule with examples.

import type { VisitOrigin } from '@calltrack/contracts';

/** A call or an enquiry, as lead grouping sees it. */
export interface Contact {
  /** Conversion id: the call id, or `enquiry:<site enquiry id>`. */
  id: string;
  kind: 'call' | 'enquiry';
  /** E.164; '' when withheld or not given. */
  phone: string;
  /** The visitor the contact was matched to (or, for an enquiry, the one the site named); '' when unknown. */
  visitorId: string;
  atMs: number;
  /** The lead stored for it ('' when not yet evaluated). */
  leadId: string;
}

/** Contact order: by time, then by id (two contacts in the same millisecond). */
export const contactBefore = (a: Pick<Contact, 'atMs' | 'id'>, b: Pick<Contact, 'atMs' | 'id'>): boolean =>
  a.atMs < b.atMs || (a.atMs === b.atMs && a.id < b.id);

export const samePerson = (a: Pick<Contact, 'phone' | 'visitorId'>, b: Pick<Contact, 'phone' | 'visitorId'>): boolean =>
  (a.phone !== '' && a.phone === b.phone) || (a.visitorId !== '' && a.visitorId === b.visitorId);

/**
 * A site's contacts indexed by phone, by visitor and by id, so that finding a person's
 * contacts touches only theirs (a site holds many people; scanning all of them for every
 * contact made a backlog quadratic). Contacts keep the order they were added in: where two
 * copies of a contact tie, the one added first wins, as in a scan of a list.
 */
export class ContactIndex<C extends Contact = Contact> {
  private readonly all: C[] = [];
  private readonly byPhone = new Map<string, number[]>();
  private readonly byVisitor = new Map<string, number[]>();
  private readonly firstById = new Map<string, C>();

  constructor(contacts: Iterable<C> = []) {
    for (const c of contacts) this.add(c);
  }

  add(c: C): void {
    const i = this.all.push(c) - 1;
    if (c.phone) pushTo(this.byPhone, c.phone, i);
    if (c.visitorId) pushTo(this.byVisitor, c.visitorId, i);
    if (!this.firstById.has(c.id)) this.firstById.set(c.id, c);
  }

  /** The contacts of the same person (samePerson), in the order added. */
  ofPerson(p: Pick<Contact, 'phone' | 'visitorId'>): C[] {
    const a = p.phone ? (this.byPhone.get(p.phone) ?? []) : [];
    const b = p.visitorId ? (this.byVisitor.get(p.visitorId) ?? []) : [];
    const out: C[] = [];
    let i = 0;
    let j = 0;
    // Merge two ascending position lists; a contact with both the phone and the visitor is in both.
    while (i < a.length || j < b.length) {
      const x = i < a.length ? a[i]! : Infinity;
      const y = j < b.length ? b[j]! : Infinity;
      const next = Math.min(x, y);
      if (x === next) i += 1;
      if (y === next) j += 1;
      out.push(this.all[next]!);
    }
    return out;
  }

  /** The first contact added with this id. */
  byId(id: string): C | undefined {
    return this.firstById.get(id);
  }
}

/**
 * An index that holds nothing and remembers whose contacts were looked up, at which
 * contact: an evaluation run over it once tells which people's earlier contacts the
 * real run will need (who a call is does not depend on leads), so only those are read.
 */
export class ContactProbes extends ContactIndex {
  readonly probes: Contact[] = [];

  // leadOfContactIn looks up the person of the contact being placed: the whole contact is what is asked for.
  override ofPerson(p: Contact): Contact[] {
    this.probes.push({ ...p });
    return [];
  }
}

function pushTo(map: Map<string, number[]>, key: string, i: number): void {
  const list = map.get(key);
  if (list) list.push(i);
  else map.set(key, [i]);
}

/** Where a contact's earlier contacts are looked up: lists (scanned) and indexes, searched in the order given. */
export type ContactSource = readonly Contact[] | ContactIndex;

/**
 * The lead of a contact: the lead of the person's latest earlier contact when that lead's
 * first contact is at most `windowMs` before this one, else a new lead whose id is this
 * contact's id. The window is fixed from the lead's first contact, so a steady trickle
 * does not stay one lead for ever. A contact with neither phone nor visitor is its own lead.
 * `others` may hold any contacts of the site (the person's earlier ones are picked out);
 * an index (or several sources, searched in order as if concatenated) avoids scanning them all.
 */
export function leadOfContact(contact: Contact, others: readonly Contact[] | ContactIndex, windowMs: number): string {
  return leadOfContactIn(contact, [others], windowMs);
}

export function leadOfContactIn(contact: Contact, sources: readonly ContactSource[], windowMs: number): string {
  if (!contact.phone && !contact.visitorId) return contact.id;
  let latest: Contact | undefined;
  for (const source of sources) {
    for (const o of source instanceof ContactIndex ? source.ofPerson(contact) : source) {
      if (o.id === contact.id || !samePerson(o, contact) || !contactBefore(o, contact)) continue;
      if (!latest || contactBefore(latest, o)) latest = o;
    }
  }
  if (!latest) return contact.id;
  const leadId = latest.leadId || latest.id;
  const first = leadId === latest.id ? latest : firstWithId(sources, leadId);
  return first && contact.atMs - first.atMs <= windowMs ? leadId : contact.id;
}

function firstWithId(sources: readonly ContactSource[], id: string): Contact | undefined {
  for (const source of sources) {
    const found = source instanceof ContactIndex ? source.byId(id) : source.find((o) => o.id === id);
    if (found) return found;
  }
  return undefined;
}

/**
 * Lead ids of a set of contacts, assigned in contact order (what the live path converges
 * to whatever the arrival order: a late contact re-evaluates the later ones it precedes).
 */
export function groupLeads(contacts: readonly Contact[], windowMs: number): Map<string, string> {
  const ordered = [...contacts].sort((a, b) => (contactBefore(a, b) ? -1 : contactBefore(b, a) ? 1 : 0));
  const assigned = new ContactIndex();
  const out = new Map<string, string>();
  for (const c of ordered) {
    const leadId = leadOfContact({ ...c, leadId: '' }, assigned, windowMs);
    assigned.add({ ...c, leadId });
    out.set(c.id, leadId);
  }
  return out;
}

/** What a lead row summarises of one of its contacts. */
export interface LeadMember {
  id: string;
  kind: 'call' | 'enquiry';
  atMs: number;
  phone: string;
  visitorId: string;
  target: boolean;
  missed: boolean;
  channel: string;
  utm: { source: string; medium: string; campaign: string; term: string };
}

export interface LeadSummary {
  leadId: string;
  personKey: string;
  firstContactAtMs: number;
  lastContactAtMs: number;
  firstContactKind: 'call' | 'enquiry';
  calls: number;
  targetCalls: number;
  missedCalls: number;
  enquiries: number;
  /** Source of the first contact that was matched to one (the lead's first touch with a known channel). */
  channel: string;
  utm: { source: string; medium: string; campaign: string; term: string };
  visitorId: string;
}

/**
 * One lead's row from its contacts. The person key is the first phone seen (`phone:+…`),
 * else the first visitor (`visitor:…`); the source and visitor come from the earliest
 * contact that has them. With `counts`, `members` need only hold the members that decide
 * the rest (the first and the last, the first with a phone, a visitor, a source): a lead
 * read as aggregates (enquiry-lookups.ts leadMembers).
 */
export function summariseLead(
  leadId: string,
  members: readonly LeadMember[],
  counts?: Pick<LeadSummary, 'calls' | 'targetCalls' | 'missedCalls' | 'enquiries'>,
): LeadSummary | undefined {
  if (members.length === 0) return undefined;
  const ordered = [...members].sort((a, b) => (contactBefore(a, b) ? -1 : 1));
  const first = ordered[0]!;
  const phone = ordered.find((m) => m.phone)?.phone;
  const visitor = ordered.find((m) => m.visitorId)?.visitorId;
  const sourced = ordered.find((m) => m.channel);
  return {
    leadId,
    personKey: phone ? `phone:${phone}` : visitor ? `visitor:${visitor}` : `contact:${first.id}`,
    firstContactAtMs: first.atMs,
    lastContactAtMs: ordered[ordered.length - 1]!.atMs,
    firstContactKind: first.kind,
    calls: counts?.calls ?? ordered.filter((m) => m.kind === 'call').length,
    targetCalls: counts?.targetCalls ?? ordered.filter((m) => m.kind === 'call' && m.target).length,
    missedCalls: counts?.missedCalls ?? ordered.filter((m) => m.kind === 'call' && m.missed).length,
    enquiries: counts?.enquiries ?? ordered.filter((m) => m.kind === 'enquiry').length,
    channel: sourced?.channel ?? '',
    utm: sourced ? { ...sourced.utm } : { source: '', medium: '', campaign: '', term: '' },
    visitorId: visitor ?? '',
  };
}

/** An earlier call or enquiry of the same person with the origin it was credited to (calls and enquiries keep no analytics ids). */
export interface MatchedContact extends Contact, Omit<VisitOrigin, 'analyticsIds'> {
  inbound: boolean;
  matchMethod: string;
  matchConfidence: number;
  sessionId: string;
  sessionStartedAtMs: number | null;
}
