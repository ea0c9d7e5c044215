import type { SiteSettings } from '../../settings/attribution-settings.js';
import type { CallLookups } from '../../store/call-lookups.js';
import type { EnquiryLookups } from '../../store/enquiry-lookups.js';
import { enquiryConversionId, type CallRow, type EnquiryRow } from '../../store/rows.js';

const DAY_MS = 86_400_000;
const pairKey = (siteId: string, id: string): string => `${siteId}\n${id}`;

/** A contact (call or enquiry) just written, as the search for the ones after it sees it. */
export interface WrittenContact {
  siteId: string;
  phone: string;
  visitorId: string;
  atMs: number;
  /** The call id, or the enquiry's conversion id. */
  id: string;
}

/** Where to look for the contacts after `written`: the same phone or visitor within the widest lead / repeat window. */
export interface LaterContactsQuery {
  people: WrittenContact[];
  siteIds: string[];
  fromMs: number;
  toMs: number;
  isLater(siteId: string, phone: string, visitorId: string, atMs: number, id: string): boolean;
}

export function laterContactsQuery(written: readonly WrittenContact[], settingsOf: (siteId: string) => SiteSettings): LaterContactsQuery | undefined {
  const people = written.filter((w) => w.phone || w.visitorId);
  if (people.length === 0) return undefined;
  const siteIds = [...new Set(people.map((w) => w.siteId))];
  const laterMs = Math.max(...siteIds.map(settingsOf).map((s) => Math.max(s.repeatCallerWindowDays, s.leadWindowDays))) * DAY_MS;
  const writtenIds = new Set(written.map((w) => pairKey(w.siteId, w.id)));
  return {
    people,
    siteIds,
    fromMs: Math.min(...people.map((w) => w.atMs)),
    toMs: Math.max(...people.map((w) => w.atMs)) + laterMs,
    isLater: (siteId, phone, visitorId, atMs, id) =>
      !writtenIds.has(pairKey(siteId, id)) &&
      people.some(
        (w) =>
          w.siteId === siteId &&
          ((w.phone && w.phone === phone) || (w.visitorId && w.visitorId === visitorId)) &&
          (w.atMs < atMs || (w.atMs === atMs && w.id < id)),
      ),
  };
}

/** The stored enquiries after the written contacts, of the same phone or visitor. */
export async function findLaterEnquiries(lookups: EnquiryLookups, q: LaterContactsQuery): Promise<EnquiryRow[]> {
  const rows = await lookups.enquiriesOfPeople(
    q.siteIds,
    q.people.map((w) => w.phone),
    q.people.map((w) => w.visitorId),
    q.fromMs,
    q.toMs,
  );
  return rows.filter((r) =>
    q.isLater(r.site_id, r.contact_phone, r.visitor_id || r.given_visitor_id, Date.parse(r.occurred_at), enquiryConversionId(r.enquiry_id)),
  );
}

/** The stored calls after the written contacts, of the same phone or visitor. */
export async function findLaterCalls(io: { lookups: EnquiryLookups; callLookups: CallLookups }, q: LaterContactsQuery): Promise<CallRow[]> {
  const contacts = await io.lookups.contacts(
    q.siteIds,
    q.people.map((w) => w.phone),
    q.people.map((w) => w.visitorId),
    q.fromMs,
    q.toMs,
  );
  const later = contacts.filter((c) => c.kind === 'call' && q.isLater(c.siteId, c.phone, c.visitorId, c.atMs, c.id));
  if (later.length === 0) return [];
  const rows = await io.callLookups.storedRows(
    later.map((c) => ({ siteId: c.siteId, callId: c.id })),
    Math.min(...later.map((c) => c.atMs)),
    Math.max(...later.map((c) => c.atMs)),
  );
  return [...rows.values()];
}
