import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { groupLeads, leadOfContact, summariseLead, type Contact, type LeadMember } from './lead-grouping.js';

const DAY = 86_400_000;
const T0 = Date.parse('2025-03-03T09:00:00Z');
const WEEK = 7 * DAY;
const c = (id: string, kind: Contact['kind'], phone: string, visitorId: string, day: number, leadId = ''): Contact => ({ id, kind, phone, visitorId, atMs: T0 + day * DAY, leadId });

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
    for (let changed = true; changed; ) {
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

describe('lead grouping across calls and enquiries', () => {
  it('a form, then a call from the phone the form gave: one lead, named after the form', () => {
    const form = c('enquiry:f1', 'enquiry', '+79161234567', 'vis-a', 0);
    const call = c('generic:c1', 'call', '+79161234567', '', 2);
    assert.equal(leadOfContact(call, [{ ...form, leadId: form.id }], WEEK), 'enquiry:f1');
    assert.deepEqual([...groupLeads([call, form], WEEK)], [['enquiry:f1', 'enquiry:f1'], ['generic:c1', 'enquiry:f1']]);
  });

  it('a call matched to a visitor, then a form of that visitor without a phone: one lead, named after the call', () => {
    const call = c('generic:c1', 'call', '+79161234567', 'vis-a', 0);
    const form = c('enquiry:f1', 'enquiry', '', 'vis-a', 1);
    assert.equal(leadOfContact(form, [{ ...call, leadId: call.id }], WEEK), 'generic:c1');
  });

  it('two people are two leads; a contact with neither phone nor visitor is its own lead', () => {
    const leads = groupLeads(
      [c('enquiry:a', 'enquiry', '+79160000001', 'vis-a', 0), c('enquiry:b', 'enquiry', '+79160000002', 'vis-b', 0.5), c('generic:a2', 'call', '+79160000001', '', 1), c('generic:anon', 'call', '', '', 1.5), c('generic:anon2', 'call', '', '', 1.6)],
      WEEK,
    );
    assert.equal(leads.get('generic:a2'), 'enquiry:a');
    assert.equal(leads.get('enquiry:b'), 'enquiry:b');
    assert.equal(leads.get('generic:anon'), 'generic:anon');
    assert.equal(leads.get('generic:anon2'), 'generic:anon2');
  });

  it("links through either key: a form (phone P, visitor V), a call from P, a chat from V — one lead", () => {
    const leads = groupLeads([c('enquiry:f', 'enquiry', '+79160000001', 'vis-v', 0), c('generic:c', 'call', '+79160000001', '', 1), c('enquiry:chat', 'enquiry', '', 'vis-v', 2)], WEEK);
    assert.deepEqual(new Set(leads.values()), new Set(['enquiry:f']));
  });

  it('the window runs from the lead\'s first contact: days 0, 5, 9, 12 with 7 days are two leads (0+5, 9+12)', () => {
    const leads = groupLeads([c('enquiry:d0', 'enquiry', '+79160000001', '', 0), c('generic:d5', 'call', '+79160000001', '', 5), c('enquiry:d9', 'enquiry', '+79160000001', '', 9), c('generic:d12', 'call', '+79160000001', '', 12)], WEEK);
    assert.deepEqual(Object.fromEntries(leads), { 'enquiry:d0': 'enquiry:d0', 'generic:d5': 'enquiry:d0', 'enquiry:d9': 'enquiry:d9', 'generic:d12': 'enquiry:d9' });
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

  it('summarises a lead: person key, first/last contact, counts, first sourced contact\'s channel', () => {
    const m = (id: string, kind: LeadMember['kind'], day: number, over: Partial<LeadMember> = {}): LeadMember => ({
      id, kind, atMs: T0 + day * DAY, phone: '', visitorId: '', target: false, missed: false, channel: '', utm: { source: '', medium: '', campaign: '', term: '' }, ...over,
    });
    const s = summariseLead('enquiry:f1', [
      m('generic:c2', 'call', 3, { phone: '+79160000001', target: true, channel: 'organic_search', utm: { source: 'google', medium: 'organic', campaign: '', term: '' } }),
      m('enquiry:f1', 'enquiry', 0, { visitorId: 'vis-a' }),
      m('generic:c1', 'call', 1, { phone: '+79160000001', missed: true, visitorId: 'vis-a', channel: 'paid_search', utm: { source: 'google', medium: 'cpc', campaign: 'sofas', term: 'buy sofa' } }),
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
