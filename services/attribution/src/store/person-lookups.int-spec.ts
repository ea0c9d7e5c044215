// The narrow reads of a batch (a person's latest contact before each call, the calls up to a
// written call's next one, a lead read as aggregates) against the whole-history reads they
// replace, on the embedded ClickHouse engine: a seeded history with shared phones and
// visitors, ties in time, spam, outbound calls, enquiries and rows superseded by a later
// version must give the same leads, the same dependent calls and the same lead rows.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createClickHouse, type ClickHouse } from '@calltrack/clickhouse';
import { ReadinessService } from '@calltrack/service-kit';
import { testLogger } from '@calltrack/testing';
import { AttributionStore } from './attribution-store.js';
import { CallLookups } from './call-lookups.js';
import type { AttributionConfig } from '../config.js';
import { callsToFollow } from '../pipeline/dependent-calls.js';
import { EnquiryLookups, type ContactPeople, type ContactProbe } from './enquiry-lookups.js';
import { contactBefore, ContactIndex, summariseLead, type Contact, type LeadMember } from '../leads/lead-grouping.js';

process.env['CLICKHOUSE_DATA_DIR'] ??= mkdtempSync(join(tmpdir(), 'calltrack-chdb-'));

const SITE = 'people';
const OTHER = 'people-2';
const BASE = Date.UTC(2026, 5, 10, 12, 0, 0);
const PHONES = Array.from({ length: 8 }, (_, i) => `+7916000000${i}`);
const VISITORS = ['va', 'vb', 'vc', 'vd', 've', 'vf'];

/** A small deterministic generator: the same history every run. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('narrow reads of a batch give what the whole-history reads gave', () => {
  const database = `people_${randomUUID().slice(0, 8)}`;
  const dataDir = process.env['CLICKHOUSE_DATA_DIR']!;
  let store: AttributionStore;
  let ch: ClickHouse;
  let calls: CallLookups;
  let enquiries: EnquiryLookups;
  const rnd = random(20260610);
  const pick = <T>(values: readonly T[]): T => values[Math.floor(rnd() * values.length)]!;
  // 40 distinct moments a few ms apart: many contacts share a moment (ties broken by id).
  const at = (): number => BASE + Math.floor(rnd() * 40) * 7;
  const stored: Array<{ site: string; id: string; phone: string; visitor: string; atMs: number; spam: boolean; outbound: boolean; lead: string }> = [];

  before(async () => {
    const config = { CLICKHOUSE_DATA_DIR: dataDir, CLICKHOUSE_DATABASE: database } as unknown as AttributionConfig;
    store = new AttributionStore(config, testLogger, new ReadinessService());
    await store.open();
    ch = createClickHouse({ dataDir, database });
    calls = new CallLookups(store);
    enquiries = new EnquiryLookups(store);

    const rows: Array<Record<string, unknown>> = [];
    const ids: string[] = [];
    for (let i = 0; i < 700; i += 1) {
      const site = i % 10 === 9 ? OTHER : SITE;
      const id = `c${String(i).padStart(4, '0')}`;
      const outbound = rnd() < 0.08;
      const spam = !outbound && rnd() < 0.1;
      const row = {
        site,
        id,
        phone: rnd() < 0.1 ? '' : pick(PHONES),
        visitor: rnd() < 0.2 ? '' : pick(VISITORS),
        atMs: at(),
        spam,
        outbound,
        lead: spam || outbound ? '' : rnd() < 0.4 || ids.length === 0 ? id : pick(ids),
      };
      ids.push(id);
      const call = (r: typeof row, version: number) => ({
        event_id: `e-${r.id}-${version}`,
        site_id: r.site,
        call_id: r.id,
        caller_number: r.outbound ? '' : r.phone,
        called_number: r.outbound ? r.phone : '',
        direction: r.outbound ? 'outbound' : 'inbound',
        status: 'completed',
        started_at: new Date(r.atMs).toISOString(),
        verdict: r.spam ? 'spam' : 'clean',
        visitor_id: r.visitor,
        lead_id: r.lead,
        channel: rnd() < 0.3 ? '' : pick(['paid_search', 'organic', 'direct']),
        utm_source: pick(['google', 'yandex', '']),
        is_target: rnd() < 0.5 ? 1 : 0,
        is_missed: rnd() < 0.2 ? 1 : 0,
        is_final: 1,
        version,
      });
      rows.push(call(row, 1));
      // A later version (another visitor, verdict or lead) supersedes one call in six: FINAL must win.
      if (rnd() < 0.17) {
        const again = {
          ...row,
          visitor: rnd() < 0.3 ? '' : pick(VISITORS),
          spam: !row.outbound && rnd() < 0.15,
          lead: row.outbound ? '' : pick([row.id, ...ids]),
        };
        if (again.spam) again.lead = '';
        rows.push(call(again, 2));
        stored.push(again);
      } else stored.push(row);
    }
    for (let i = 0; i < rows.length; i += 100) await ch.insertJsonEachRow('calls', rows.slice(i, i + 100));
    const forms: Array<Record<string, unknown>> = [];
    for (let i = 0; i < 120; i += 1) {
      const visitor = rnd() < 0.3 ? '' : pick(VISITORS);
      forms.push({
        event_id: `f-${i}`,
        site_id: i % 10 === 9 ? OTHER : SITE,
        enquiry_id: `f${i}`,
        kind: 'form',
        occurred_at: new Date(at()).toISOString(),
        received_at: new Date(BASE).toISOString(),
        contact_phone: rnd() < 0.3 ? '' : pick(PHONES),
        visitor_id: visitor,
        // The site named a visitor the enquiry was not matched to: it counts only when none was matched.
        given_visitor_id: rnd() < 0.4 ? pick(VISITORS) : '',
        channel: rnd() < 0.5 ? '' : 'organic',
        lead_id: rnd() < 0.5 ? `enquiry:f${i}` : pick(ids),
        version: 1,
      });
    }
    await ch.insertJsonEachRow('enquiries', forms);
  });

  after(async () => {
    await ch.command(`DROP DATABASE IF EXISTS ${database}`);
    await ch.close();
    await store.onApplicationShutdown();
  });

  const FROM = BASE - 86_400_000;
  const TO = BASE + 86_400_000;

  it("finds each contact's latest earlier contact per phone and visitor as the whole read did, in a few rows", async () => {
    const probes: ContactProbe[] = [];
    const excluded: string[] = [];
    for (let i = 0; i < 80; i += 1) {
      const siteId = i % 6 === 5 ? OTHER : SITE;
      const phone = rnd() < 0.2 ? '' : pick(PHONES);
      const visitorId = phone && rnd() < 0.3 ? '' : pick(VISITORS);
      // Some probes are calls being evaluated again: their stored state is left out.
      const existing = rnd() < 0.3 ? pick(stored.filter((c) => c.site === siteId)) : undefined;
      if (existing) excluded.push(`${siteId}\n${existing.id}`);
      probes.push({ siteId, phone, visitorId, atMs: existing?.atMs ?? at(), id: existing?.id ?? `new-${i}` });
    }
    // The people filter of the batch: not every probe's visitor is among them (their contacts count only through a phone).
    const people: ContactPeople = { siteIds: [SITE, OTHER], phones: PHONES.slice(0, 6), visitors: VISITORS.slice(1) };
    const leaveOut = (list: Array<Contact & { siteId: string }>) => list.filter((c) => !(c.kind === 'call' && excluded.includes(`${c.siteId}\n${c.id}`)));
    const whole = leaveOut(await enquiries.contacts(people.siteIds, people.phones, people.visitors, FROM, TO));
    const narrow = leaveOut(await enquiries.latestContactsBefore(people, probes, FROM, TO, excluded));
    const latestIn = (list: Array<Contact & { siteId: string }>, p: ContactProbe): string => {
      const index = new ContactIndex(list.filter((c) => c.siteId === p.siteId));
      const self: Contact = { id: p.id, kind: 'call', phone: p.phone, visitorId: p.visitorId, atMs: p.atMs, leadId: '' };
      let latest: Contact | undefined;
      for (const o of index.ofPerson(self)) if (o.id !== self.id && contactBefore(o, self) && (!latest || contactBefore(latest, o))) latest = o;
      return latest ? `${latest.id} ${latest.leadId}` : '';
    };
    const expected = probes.map((p) => latestIn(whole, p));
    assert.ok(expected.filter((e) => e !== '').length > 40, 'most probes have an earlier contact');
    assert.deepEqual(
      probes.map((p) => latestIn(narrow, p)),
      expected,
    );
    // At most one call and one enquiry per probe and person key, instead of every contact of the people.
    assert.ok(
      narrow.length <= probes.length * 4 && whole.length > 2 * narrow.length,
      `${narrow.length} rows for ${probes.length} probes (the whole read: ${whole.length})`,
    );

    // The first contacts of leads, by id, as the whole read held them (calls and enquiries).
    const leadIds = [...new Set(whole.map((c) => `${c.siteId}\n${c.leadId}`))].map((k) => ({ siteId: k.split('\n')[0]!, id: k.split('\n')[1]! }));
    const firsts = leaveOut(await enquiries.contactsByIds(people, leadIds, FROM, TO));
    const wanted = new Set(leadIds.map((k) => `${k.siteId}\n${k.id}`));
    const sorted = (list: Array<Contact & { siteId: string }>) => list.map((c) => `${c.siteId} ${c.id} ${c.atMs} ${c.leadId}`).sort();
    assert.deepEqual(sorted(firsts), sorted(whole.filter((c) => wanted.has(`${c.siteId}\n${c.id}`))));
    assert.ok(firsts.some((c) => c.kind === 'enquiry') && firsts.some((c) => c.kind === 'call'));
  });

  it('finds the calls that follow written calls as the whole read of their people did', async () => {
    const inbound = stored.filter((c) => !c.outbound);
    const written = Array.from({ length: 60 }, () => pick(inbound)).map((c) => ({
      siteId: c.site,
      callId: c.id,
      number: c.phone,
      // Spam is nobody's lead: a written spam call has no dependents through its visitor.
      visitorId: c.spam ? '' : c.visitor,
      atMs: c.atMs,
    }));
    const whole = await calls.callPositions(
      { sites: [SITE, OTHER], numbers: written.map((w) => w.number), visitors: written.map((w) => w.visitorId), leads: [] },
      FROM,
      TO,
    );
    const narrow = await calls.nextPositions(written, FROM, TO);
    const ids = (list: ReturnType<typeof callsToFollow>) => list.map((p) => `${p.siteId} ${p.callId}`).sort();
    const expected = ids(callsToFollow(written, whole));
    assert.ok(expected.length > 10);
    assert.deepEqual(ids(callsToFollow(written, narrow)), expected);
    assert.ok(
      narrow.some((p) => p.spam),
      'spam calls on the way are read too',
    );
    assert.ok(whole.length > 3 * narrow.length, `${narrow.length} positions instead of ${whole.length}`);
  });

  it('summarises leads from aggregates as it did from all their members', async () => {
    const leadIds = [...new Set(stored.filter((c) => c.site === SITE && c.lead).map((c) => c.lead))];
    const members = new Map<string, LeadMember[]>();
    const add = (leadId: string, m: LeadMember) => members.set(leadId, [...(members.get(leadId) ?? []), m]);
    const utm = (r: Record<string, unknown>) => ({
      source: String(r['utm_source']),
      medium: String(r['utm_medium']),
      campaign: String(r['utm_campaign']),
      term: String(r['utm_term']),
    });
    for (const r of await ch.query<Record<string, unknown>>(
      `SELECT call_id, caller_number, visitor_id, toUnixTimestamp64Milli(started_at) AS at, lead_id, is_target, is_missed, channel, utm_source,
         utm_medium, utm_campaign, utm_term
       FROM calls FINAL WHERE site_id = {site:String} AND direction != 'outbound' AND verdict != 'spam' AND lead_id IN {ids:Array(String)}`,
      { site: SITE, ids: leadIds },
    )) {
      add(String(r['lead_id']), {
        id: String(r['call_id']),
        kind: 'call',
        atMs: Number(r['at']),
        phone: String(r['caller_number']),
        visitorId: String(r['visitor_id']),
        target: Number(r['is_target']) === 1,
        missed: Number(r['is_missed']) === 1,
        channel: String(r['channel']),
        utm: utm(r),
      });
    }
    for (const r of await ch.query<Record<string, unknown>>(
      `SELECT enquiry_id, contact_phone, visitor_id, given_visitor_id, toUnixTimestamp64Milli(occurred_at) AS at, lead_id, channel, utm_source,
         utm_medium, utm_campaign, utm_term
       FROM enquiries FINAL WHERE site_id = {site:String} AND lead_id IN {ids:Array(String)}`,
      { site: SITE, ids: leadIds },
    )) {
      add(String(r['lead_id']), {
        id: `enquiry:${String(r['enquiry_id'])}`,
        kind: 'enquiry',
        atMs: Number(r['at']),
        phone: String(r['contact_phone']),
        visitorId: String(r['visitor_id']) || String(r['given_visitor_id']),
        target: false,
        missed: false,
        channel: String(r['channel']),
        utm: utm(r),
      });
    }
    const digests = await enquiries.leadMembers(SITE, leadIds);
    assert.ok(members.size > 20);
    assert.ok([...members.values()].some((list) => list.length > 5));
    assert.deepEqual([...digests.keys()].sort(), [...members.keys()].sort());
    for (const [leadId, list] of members) {
      const digest = digests.get(leadId)!;
      assert.ok(digest.members.length <= 10);
      assert.deepEqual(summariseLead(leadId, digest.members, digest.counts), summariseLead(leadId, list), leadId);
    }
  });
});
