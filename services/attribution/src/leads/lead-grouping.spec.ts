import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ContactIndex,
  contactBefore,
  groupLeads,
  leadOfContact,
  leadOfContactIn,
  samePerson,
  summariseLead,
  type Contact,
  type LeadMember,
} from './lead-grouping.js';

const DAY = 86_400_000;
const T0 = Date.parse('2025-03-03T09:00:00Z');
const WEEK = 7 * DAY;
const c = (id: string, kind: Contact['kind'], phone: string, visitorId: string, day: number, leadId = ''): Contact => ({
  id,
  kind,
  phone,
  visitorId,
  atMs: T0 + day * DAY,
  leadId,
});

/** Every order of a list (small lists only). */
function permutations<T>(xs: readonly T[]): T[][] {
  if (xs.length <= 1) return [[...xs]];
  return xs.flatMap((x, i) => permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((rest) => [x, ...rest]));
}

/**
 * What the live path does: contacts arrive in `arrival` order; each is evaluated against the
 * stored ones, and every stored contact after it of the same person is evaluated again in
 * contact order (the dependents rule) until nothing changes.
 */
function liveArrival(arrival: readonly Contact[], windowMs: number): Map<string, string> {
  const stored = new Map<string, Contact>();
  for (const incoming of arrival) {
    stored.set(incoming.id, { ...incoming, leadId: leadOfContact({ ...incoming, leadId: '' }, [...stored.values()], windowMs) });
    for (let changed = true; changed;) {
      changed = false;
      const ordered = [...stored.values()].sort((a, b) => a.atMs - b.atMs || (a.id < b.id ? -1 : 1));
      for (const s of ordered) {
        const leadId = leadOfContact({ ...s, leadId: '' }, [...stored.values()], windowMs);
        if (leadId !== s.leadId) {
          stored.set(s.id, { ...s, leadId });
          changed = true;
        }
      }
    }
  }
  return new Map([...stored.values()].map((s) => [s.id, s.leadId]));
}

/** The rule as first written: a scan of every contact given (the reference the indexed lookups must agree with). */
function referenceLead(contact: Contact, others: readonly Contact[], windowMs: number): string {
  if (!contact.phone && !contact.visitorId) return contact.id;
  let latest: Contact | undefined;
  for (const o of others) {
    if (o.id === contact.id || !samePerson(o, contact) || !contactBefore(o, contact)) continue;
    if (!latest || contactBefore(latest, o)) latest = o;
  }
  if (!latest) return contact.id;
  const leadId = latest.leadId || latest.id;
  const first = leadId === latest.id ? latest : others.find((o) => o.id === leadId);
  return first && contact.atMs - first.atMs <= windowMs ? leadId : contact.id;
}

/** A site with many contacts of few people: shared phones and visitors, withheld ones, duplicates, ties in time, stale lead ids. */
function randomSite(seed: number, n: number): Contact[] {
  let x = seed;
  const rnd = (k: number): number => {
    x = (Math.imul(x, 1_103_515_245) + 12_345) >>> 0;
    return (x >>> 8) % k;
  };
  const out: Contact[] = [];
  for (let i = 0; i < n; i += 1) {
    const phone = rnd(5) === 0 ? '' : `+7916${String(rnd(40)).padStart(7, '0')}`;
    const visitorId = rnd(4) === 0 ? '' : `vis-${rnd(30)}`;
    const id = rnd(20) === 0 && out.length > 0 ? out[rnd(out.length)]!.id : `c${i}`;
    const leadId = rnd(3) === 0 ? '' : rnd(2) === 0 ? `c${rnd(n)}` : id;
    out.push({ id, kind: rnd(3) === 0 ? 'enquiry' : 'call', phone, visitorId, atMs: T0 + rnd(60) * DAY + rnd(3) * 1000, leadId });
  }
  return out;
}

/** Contacts that count how many of them a lookup reads (the phone is read by every person test). */
function counted(contacts: readonly Contact[]): { contacts: Contact[]; reads: () => number } {
  const read = new Set<number>();
  const contactsOut = contacts.map((c, i) => {
    const copy = { ...c };
    return Object.defineProperty(copy, 'phone', { get: () => (read.add(i), c.phone), enumerable: true });
  });
  return {
    contacts: contactsOut,
    reads: () => {
      const n = read.size;
      read.clear();
      return n;
    },
  };
}

describe('lead grouping across calls and enquiries', () => {
  it('a form, then a call from the phone the form gave: one lead, named after the form', () => {
    const form = c('enquiry:f1', 'enquiry', '+79161234567', 'vis-a', 0);
    const call = c('generic:c1', 'call', '+79161234567', '', 2);
    assert.equal(leadOfContact(call, [{ ...form, leadId: form.id }], WEEK), 'enquiry:f1');
    assert.deepEqual(
      [...groupLeads([call, form], WEEK)],
      [
        ['enquiry:f1', 'enquiry:f1'],
        ['generic:c1', 'enquiry:f1'],
      ],
    );
  });

  it('a call matched to a visitor, then a form of that visitor without a phone: one lead, named after the call', () => {
    const call = c('generic:c1', 'call', '+79161234567', 'vis-a', 0);
    const form = c('enquiry:f1', 'enquiry', '', 'vis-a', 1);
    assert.equal(leadOfContact(form, [{ ...call, leadId: call.id }], WEEK), 'generic:c1');
  });

  it('two people are two leads; a contact with neither phone nor visitor is its own lead', () => {
    const leads = groupLeads(
      [
        c('enquiry:a', 'enquiry', '+79160000001', 'vis-a', 0),
        c('enquiry:b', 'enquiry', '+79160000002', 'vis-b', 0.5),
        c('generic:a2', 'call', '+79160000001', '', 1),
        c('generic:anon', 'call', '', '', 1.5),
        c('generic:anon2', 'call', '', '', 1.6),
      ],
      WEEK,
    );
    assert.equal(leads.get('generic:a2'), 'enquiry:a');
    assert.equal(leads.get('enquiry:b'), 'enquiry:b');
    assert.equal(leads.get('generic:anon'), 'generic:anon');
    assert.equal(leads.get('generic:anon2'), 'generic:anon2');
  });

  it('links through either key: a form (phone P, visitor V), a call from P, a chat from V — one lead', () => {
    const leads = groupLeads(
      [c('enquiry:f', 'enquiry', '+79160000001', 'vis-v', 0), c('generic:c', 'call', '+79160000001', '', 1), c('enquiry:chat', 'enquiry', '', 'vis-v', 2)],
      WEEK,
    );
    assert.deepEqual(new Set(leads.values()), new Set(['enquiry:f']));
  });

  it("the window runs from the lead's first contact: days 0, 5, 9, 12 with 7 days are two leads (0+5, 9+12)", () => {
    const leads = groupLeads(
      [
        c('enquiry:d0', 'enquiry', '+79160000001', '', 0),
        c('generic:d5', 'call', '+79160000001', '', 5),
        c('enquiry:d9', 'enquiry', '+79160000001', '', 9),
        c('generic:d12', 'call', '+79160000001', '', 12),
      ],
      WEEK,
    );
    assert.deepEqual(Object.fromEntries(leads), {
      'enquiry:d0': 'enquiry:d0',
      'generic:d5': 'enquiry:d0',
      'enquiry:d9': 'enquiry:d9',
      'generic:d12': 'enquiry:d9',
    });
  });

  it('out-of-order arrival ends in the same leads, whatever the order', () => {
    const contacts = [
      c('enquiry:f1', 'enquiry', '+79160000001', 'vis-a', 0),
      c('generic:c1', 'call', '+79160000001', 'vis-a', 1),
      c('enquiry:chat', 'enquiry', '', 'vis-a', 3),
      c('generic:c2', 'call', '+79160000001', '', 8),
      c('enquiry:other', 'enquiry', '+79160000009', 'vis-z', 2),
    ];
    const expected = groupLeads(contacts, WEEK);
    assert.deepEqual(Object.fromEntries(expected), {
      'enquiry:f1': 'enquiry:f1',
      'generic:c1': 'enquiry:f1',
      'enquiry:chat': 'enquiry:f1',
      'generic:c2': 'generic:c2',
      'enquiry:other': 'enquiry:other',
    });
    for (const order of permutations(contacts)) {
      assert.deepEqual(Object.fromEntries(groupLeads(order, WEEK)), Object.fromEntries(expected));
      assert.deepEqual(Object.fromEntries(liveArrival(order, WEEK)), Object.fromEntries(expected), order.map((o) => o.id).join(' → '));
    }
  });

  it('the indexed lookup finds the same lead as a scan of every contact, on a large random site', () => {
    for (const seed of [1, 2, 3]) {
      const site = randomSite(seed, 3000);
      const index = new ContactIndex(site);
      const [a, b] = [site.slice(0, 200), site.slice(200, 400)];
      const rest = new ContactIndex(site.slice(400));
      let joined = 0;
      for (const probe of randomSite(seed + 100, 400)) {
        const self = { ...probe, leadId: '' };
        const expected = referenceLead(self, site, WEEK);
        if (expected !== self.id) joined += 1;
        assert.equal(leadOfContact(self, index, WEEK), expected, `seed ${seed}, ${self.id}`);
        // Several sources, searched as if concatenated.
        assert.equal(leadOfContactIn(self, [a, b, rest], WEEK), expected, `seed ${seed}, ${self.id} (sources)`);
        assert.deepEqual(
          index.ofPerson(self),
          site.filter((o) => samePerson(o, self)),
        );
      }
      assert.ok(joined > 100, `most probes join an earlier lead (${joined} of 400)`);
      // groupLeads (indexed) against the same grouping done by scans.
      const assigned: Contact[] = [];
      const expected = new Map<string, string>();
      for (const c of [...site].sort((p, q) => (contactBefore(p, q) ? -1 : contactBefore(q, p) ? 1 : 0))) {
        const leadId = referenceLead({ ...c, leadId: '' }, assigned, WEEK);
        assigned.push({ ...c, leadId });
        expected.set(c.id, leadId);
      }
      assert.deepEqual(groupLeads(site, WEEK), expected);
    }
  });

  it("finding a lead reads only the person's contacts, not every contact of the site", () => {
    // 200 people with 50 contacts each: a scan reads all 10,000 for every lookup.
    const site: Contact[] = [];
    for (let p = 0; p < 200; p += 1) for (let k = 0; k < 50; k += 1) site.push(c(`p${p}-${k}`, 'call', '', `vis-${p}`, k / 10, k === 0 ? '' : `p${p}-0`));
    const { contacts, reads } = counted(site);
    const index = new ContactIndex(contacts);
    reads();
    const probe = c('new', 'call', '', 'vis-7', 6);
    assert.equal(leadOfContact(probe, index, WEEK), 'p7-0');
    assert.ok(reads() <= 50, "only vis-7's 50 contacts are read");
    assert.equal(leadOfContact(probe, contacts, WEEK), 'p7-0');
    assert.equal(reads(), 10_000, 'a plain list is scanned whole (the counter works)');
  });

  it("summarises a lead: person key, first/last contact, counts, first sourced contact's channel", () => {
    const m = (id: string, kind: LeadMember['kind'], day: number, over: Partial<LeadMember> = {}): LeadMember => ({
      id,
      kind,
      atMs: T0 + day * DAY,
      phone: '',
      visitorId: '',
      target: false,
      missed: false,
      channel: '',
      utm: { source: '', medium: '', campaign: '', term: '' },
      ...over,
    });
    const s = summariseLead('enquiry:f1', [
      m('generic:c2', 'call', 3, {
        phone: '+79160000001',
        target: true,
        channel: 'organic_search',
        utm: { source: 'google', medium: 'organic', campaign: '', term: '' },
      }),
      m('enquiry:f1', 'enquiry', 0, { visitorId: 'vis-a' }),
      m('generic:c1', 'call', 1, {
        phone: '+79160000001',
        missed: true,
        visitorId: 'vis-a',
        channel: 'paid_search',
        utm: { source: 'google', medium: 'cpc', campaign: 'sofas', term: 'buy sofa' },
      }),
    ]);
    assert.deepEqual(s, {
      leadId: 'enquiry:f1',
      personKey: 'phone:+79160000001',
      firstContactAtMs: T0,
      lastContactAtMs: T0 + 3 * DAY,
      firstContactKind: 'enquiry',
      calls: 2,
      targetCalls: 1,
      missedCalls: 1,
      enquiries: 1,
      channel: 'paid_search',
      utm: { source: 'google', medium: 'cpc', campaign: 'sofas', term: 'buy sofa' },
      visitorId: 'vis-a',
    });
    assert.equal(summariseLead('x', []), undefined);
  });
});
