import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultSiteSettings, type SiteSettings } from '../settings/attribution-settings.js';
import type { TouchVisit } from '../models/call-credits.js';
import type { VisitSource } from '../matching/call-matching.js';
import {
  creditsForEnquiry,
  evaluateEnquiries,
  latestVisitWithin,
  matchEnquiry,
  planEnquiryWrites,
  type EnquiryReport,
  type EvaluatedEnquiry,
} from './enquiry-evaluation.js';
import type { MatchedContact } from '../leads/lead-grouping.js';
import type { StoredEnquiry } from '../store/rows.js';
import { NO_LEARNT_WEIGHTS } from '../models/attribution-models.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = Date.parse('2026-11-01T09:00:00Z');
const SITE = 'shop';
const PHONE = '+79161112233';
const utm = (source: string, medium: string) => ({ source, medium, campaign: '', content: '', term: '' });
const touch = (sessionId: string, day: number, channel: string, u = utm('', '')): TouchVisit => ({
  sessionId,
  visitorId: 'v',
  startedAtMs: T0 + day * DAY,
  channel,
  utm: u,
});
const visitOf = (t: TouchVisit): VisitSource => ({
  ...t,
  referrer: 'https://google.com/',
  landingPage: 'https://shop.example/',
  clickIds: {},
  analyticsIds: { gaClientId: '', ymUid: '', fbp: '', fbc: '' },
});
// Organic on day 0, paid search on day 7 (the visit the form was sent from).
const touches = [touch('s1', 0, 'organic_search', utm('google', 'organic')), touch('s2', 7, 'paid_search', utm('google', 'cpc'))];
const visits = touches.map(visitOf);
const FORM_AT = T0 + 7 * DAY + HOUR;

const enquiry = (over: Partial<EnquiryReport> = {}): EnquiryReport => ({
  siteId: SITE,
  enquiryId: 'f1',
  eventId: 'ev-f1',
  kind: 'form',
  occurredAtMs: FORM_AT,
  receivedAtMs: FORM_AT + 1000,
  givenSessionId: '',
  givenVisitorId: '',
  phone: '',
  email: '',
  name: '',
  message: '',
  pageUrl: '',
  customFields: {},
  ...over,
});

const earlierCall = (over: Partial<MatchedContact> = {}): MatchedContact => ({
  id: 'generic:c1',
  kind: 'call',
  phone: PHONE,
  visitorId: 'v',
  atMs: T0 + 2 * DAY,
  leadId: 'generic:c1',
  inbound: true,
  matchMethod: 'dynamic',
  matchConfidence: 0.8,
  sessionId: 's1',
  sessionStartedAtMs: T0,
  channel: 'organic_search',
  utm: utm('google', 'organic'),
  referrer: '',
  landingPage: '',
  clickIds: {},
  ...over,
});

const settings: SiteSettings = defaultSiteSettings();
const lookups = (contacts: MatchedContact[] = [], s: SiteSettings = settings) => ({
  settings: () => s,
  sessionVisit: (_site: string, sessionId: string) => visits.find((v) => v.sessionId === sessionId),
  visitorVisits: (_site: string, visitorId: string) => (visitorId === 'v' ? visits : []),
  contacts: () => contacts,
});

describe('enquiry matching', () => {
  const latest = (visitorId: string) => latestVisitWithin(visitorId === 'v' ? visits : [], FORM_AT, 30 * DAY);

  it('by session id: that visit, confidence 1', () => {
    const m = matchEnquiry(enquiry({ givenSessionId: 's1', givenVisitorId: 'v' }), visits[0], latest, [], 30 * DAY);
    assert.equal(m.method, 'session');
    assert.equal(m.method === 'session' && m.visit.sessionId, 's1');
  });

  it("by visitor id: the visitor's latest visit within the lookback; a session id not stored falls back to it", () => {
    const m = matchEnquiry(enquiry({ givenVisitorId: 'v' }), undefined, latest, [], 30 * DAY);
    assert.deepEqual([m.method, m.reason, m.method === 'visitor' && m.visit.sessionId], ['visitor', 'visitor_latest_visit', 's2']);
    const fallback = matchEnquiry(enquiry({ givenSessionId: 'gone', givenVisitorId: 'v' }), undefined, latest, [], 30 * DAY);
    assert.equal(fallback.reason, 'session_not_found_visitor_latest_visit');
    // Lookback of 5 days: day 7's visit is 1 h before, day 0's is out.
    assert.equal(latestVisitWithin(visits, FORM_AT, 5 * DAY)?.sessionId, 's2');
    assert.equal(latestVisitWithin(visits, T0 + 40 * DAY, 30 * DAY), undefined);
  });

  it("by phone: the person's latest earlier matched contact, half its confidence", () => {
    const older = earlierCall({ id: 'generic:c0', atMs: T0 + DAY, sessionId: 's0', matchConfidence: 1 });
    const m = matchEnquiry(
      enquiry({ phone: PHONE }),
      undefined,
      latest,
      [older, earlierCall(), earlierCall({ id: 'generic:after', atMs: FORM_AT + HOUR })],
      30 * DAY,
    );
    assert.equal(m.method, 'repeat_contact');
    if (m.method !== 'repeat_contact') return;
    assert.equal(m.source.id, 'generic:c1');
    assert.equal(m.confidence, 0.4);
    const unmatchedSource = matchEnquiry(enquiry({ phone: PHONE }), undefined, latest, [earlierCall({ matchMethod: 'unmatched', visitorId: '' })], 30 * DAY);
    assert.deepEqual([unmatchedSource.method, unmatchedSource.reason], ['unmatched', 'no_earlier_contact']);
  });

  it('unmatched with the reason of the most specific identifier', () => {
    const r = (e: EnquiryReport) => matchEnquiry(e, undefined, () => undefined, [], 30 * DAY).reason;
    assert.equal(r(enquiry({ givenSessionId: 'gone' })), 'session_not_found');
    assert.equal(r(enquiry({ givenVisitorId: 'nobody' })), 'no_visits_for_visitor');
    assert.equal(r(enquiry({ phone: PHONE })), 'no_earlier_contact');
    assert.equal(r(enquiry({ email: 'a@b.c' })), 'no_identifiers');
  });
});

describe('enquiry evaluation', () => {
  it("a form from a session: the visit's source, first contact, its own lead, credits over the visitor's path", () => {
    const [e] = evaluateEnquiries([enquiry({ givenSessionId: 's2', phone: PHONE })], lookups());
    assert.ok(e);
    assert.equal(e.row.match_method, 'session');
    assert.equal(e.row.channel, 'paid_search');
    assert.equal(e.row.utm_medium, 'cpc');
    assert.equal(e.row.visitor_id, 'v');
    assert.equal(e.row.contact_type, 'first');
    assert.equal(e.row.lead_id, 'enquiry:f1');
    const credits = creditsForEnquiry(e, touches, NO_LEARNT_WEIGHTS);
    const of = (model: string) => credits.filter((c) => c.model === model).map((c) => [c.touch.sessionId, Math.round(c.credit * 1e6) / 1e6]);
    assert.deepEqual(of('last_non_direct_click'), [
      ['s1', 0],
      ['s2', 1],
    ]);
    assert.deepEqual(of('first_click'), [
      ['s1', 1],
      ['s2', 0],
    ]);
    assert.deepEqual(of('linear'), [
      ['s1', 0.5],
      ['s2', 0.5],
    ]);
    // 7 days 1 h vs 1 h before the form, half-life 7 days: weights 2^(-169/168) and 2^(-1/168).
    const w1 = 2 ** (-(7 * 24 + 1) / (7 * 24));
    const w2 = 2 ** (-1 / (7 * 24));
    assert.deepEqual(of('time_decay'), [
      ['s1', Math.round((w1 / (w1 + w2)) * 1e6) / 1e6],
      ['s2', Math.round((w2 / (w1 + w2)) * 1e6) / 1e6],
    ]);
  });

  it("after a call of the same phone: repeat contact, joins the call's lead", () => {
    const [e] = evaluateEnquiries([enquiry({ phone: PHONE })], lookups([earlierCall()]));
    assert.equal(e!.row.match_method, 'repeat_contact');
    assert.equal(e!.row.source_conversion_id, 'generic:c1');
    assert.equal(e!.row.contact_type, 'repeat');
    assert.equal(e!.row.lead_id, 'generic:c1');
  });

  it('two enquiries of one visitor in one batch, given out of order: the earlier one starts the lead', () => {
    const later = enquiry({ enquiryId: 'chat-2', kind: 'chat', givenVisitorId: 'v', occurredAtMs: FORM_AT + DAY });
    const first = enquiry({ givenVisitorId: 'v' });
    const out = evaluateEnquiries([later, first], lookups());
    assert.deepEqual(
      out.map((e) => [e.row.enquiry_id, e.row.lead_id, e.row.contact_type]),
      [
        ['f1', 'enquiry:f1', 'first'],
        ['chat-2', 'enquiry:f1', 'repeat'],
      ],
    );
  });

  it('an unmatched enquiry has no credits and a contact type only with a phone or visitor', () => {
    const [e] = evaluateEnquiries([enquiry({ email: 'x@y.z' })], lookups());
    assert.equal(e!.row.match_method, 'unmatched');
    assert.equal(e!.row.contact_type, '');
    assert.deepEqual(creditsForEnquiry(e!, touches, NO_LEARNT_WEIGHTS), []);
  });
});

describe('enquiry writes', () => {
  const plan = (stored: Map<string, StoredEnquiry>, mode: 'report' | 'reevaluate', s: SiteSettings = settings) => {
    const evaluated = evaluateEnquiries([enquiry({ givenSessionId: 's2' })], lookups([], s));
    const credits = new Map<EvaluatedEnquiry, ReturnType<typeof creditsForEnquiry>>(
      evaluated.map((e) => [e, creditsForEnquiry(e, touches, NO_LEARNT_WEIGHTS)]),
    );
    return planEnquiryWrites(evaluated, credits, stored, mode);
  };

  it('stores a new enquiry at version 0 with its credits (a row per credited touch and model)', () => {
    const [p] = plan(new Map(), 'report');
    assert.equal(p!.row.version, 0n);
    assert.equal(p!.previousLeadId, '');
    assert.ok(p!.credits.every((c) => c.conversion_kind === 'enquiry' && c.call_id === 'enquiry:f1' && c.credit > 0));
    assert.equal(p!.credits.filter((c) => c.model === 'linear').length, 2);
  });

  it('a duplicate changes nothing; an unchanged re-evaluation writes nothing; a new settings revision rewrites', () => {
    const [first] = plan(new Map(), 'report');
    const stored = new Map([[`${SITE}\nf1`, { row: first!.row, credits: first!.credits }]]);
    assert.deepEqual(plan(stored, 'report'), []);
    assert.deepEqual(plan(stored, 'reevaluate'), []);
    const revised = { ...settings, revision: 2, lookbackDays: 3 };
    const [again] = plan(stored, 'reevaluate', revised);
    assert.equal(again!.row.version, 2n << 10n);
    // Day 0's visit left the 3-day path: its credits are retracted.
    const retracted = again!.credits.filter((c) => c.is_deleted === 1);
    assert.ok(retracted.length > 0 && retracted.every((c) => c.session_id === 's1' && c.credit === 0));
    assert.ok(again!.credits.filter((c) => c.is_deleted === 0).every((c) => c.session_id === 's2'));
  });
});
