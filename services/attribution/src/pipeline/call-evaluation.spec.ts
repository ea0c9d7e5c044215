import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { calltrack, visitOriginOf } from '@calltrack/contracts';
import { DEFAULT_SETTINGS, defaultSiteSettings, type SiteSettings } from '../settings/attribution-settings.js';
import type { TouchVisit } from '../models/call-credits.js';
import {
  baseVersion,
  creditsForCall,
  planWrites,
  reportOfRow,
  type CallReport,
  type EvaluatedCall,
  type EvaluationLookups,
  type StoredCall,
} from './call-evaluation.js';
import { evaluate } from './evaluate.js';
import type { LeaseCandidate, Redemption, VisitSource } from '../matching/call-matching.js';
import { callVersion } from './call-version.js';
import { contactBefore, ContactProbes, type Contact } from '../leads/lead-grouping.js';
import { NO_LEARNT_WEIGHTS, type LearntWeights } from '../models/attribution-models.js';

const { CallStatus, CallDirection, Verdict } = calltrack.events.v1;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = Date.parse('2026-11-01T09:00:00Z');
const SITE = 'shop';
const POOL = '+74951000001';
const STATIC = '+74957770000';
const DEFAULT = '+74950000000';
const CALLER = '+79161112233';

const utm = (source: string, medium: string) => ({ source, medium, campaign: '', content: '', term: '' });
// The visitor's path: organic search on day 0, paid search on day 7, a direct visit on day 14 that took the number.
const touches: TouchVisit[] = [
  { sessionId: 's1', visitorId: 'v', startedAtMs: T0, channel: 'organic_search', utm: utm('google', 'organic') },
  { sessionId: 's2', visitorId: 'v', startedAtMs: T0 + 7 * DAY, channel: 'paid_search', utm: utm('google', 'cpc') },
  { sessionId: 's3', visitorId: 'v', startedAtMs: T0 + 14 * DAY, channel: 'direct', utm: utm('', '') },
];
const visitOf = (t: TouchVisit): VisitSource => ({
  ...t,
  referrer: '',
  landingPage: '',
  clickIds: {},
  analyticsIds: { gaClientId: 'ga-1', ymUid: '', fbp: '', fbc: '' },
});
const lease: LeaseCandidate = {
  siteId: SITE,
  leaseId: 'l3',
  sessionId: 's3',
  visitorId: 'v',
  trackingNumber: POOL,
  grantedAtMs: T0 + 14 * DAY,
  expiresAtMs: T0 + 14 * DAY + 15 * 60_000,
  releasedAtMs: null,
};
const CALL_AT = T0 + 14 * DAY + HOUR;

function report(callId: string, over: Partial<calltrack.events.v1.ICallReported> = {}, at = CALL_AT, verdict = Verdict.VERDICT_CLEAN): CallReport {
  const call = calltrack.events.v1.CallReported.fromObject({
    callId,
    provider: 'generic',
    providerCallId: callId,
    trackingNumber: POOL,
    callerNumber: CALLER,
    direction: CallDirection.CALL_DIRECTION_INBOUND,
    status: CallStatus.CALL_STATUS_COMPLETED,
    startedAtMs: at,
    answeredAtMs: at + 5_000,
    endedAtMs: at + 95_000,
    sequence: 3,
    ...over,
  });
  return {
    siteId: SITE,
    callId,
    reportEventId: `e-${callId}-${call.sequence}`,
    call,
    verdict,
    verdictReason: '',
    keyStartMs: at,
    reportVersion: callVersion(call),
    occurredAtMs: at,
  };
}

function lookups(over: Omit<Partial<EvaluationLookups>, 'settings'> & { settings?: SiteSettings } = {}): EvaluationLookups {
  const settings = over.settings ?? defaultSiteSettings();
  return {
    nowMs: CALL_AT + 2 * DAY,
    graceMs: 10 * 60_000,
    site: () => ({
      timeZone: 'Europe/Moscow',
      numbers: {
        defaultNumber: DEFAULT,
        poolNumbers: [POOL],
        staticNumbers: [{ number: STATIC, utmSource: 'billboard', utmMedium: 'offline', utmCampaign: 'ring-road', channel: '', label: '' }],
      },
    }),
    leases: (_s, n) => (n === POOL ? [lease] : []),
    redemptions: [],
    history: [],
    visit: (_s, session) => {
      const t = touches.find((x) => x.sessionId === session);
      return t ? visitOf(t) : undefined;
    },
    ...over,
    settings: () => settings,
  };
}

const credited = (e: EvaluatedCall, learnt: LearntWeights = NO_LEARNT_WEIGHTS) => creditsForCall(e, touches, learnt);
const byModel = (credits: ReturnType<typeof credited>, model: string) =>
  credits.filter((c) => c.model === model).map((c) => [c.touch.sessionId, Math.round(c.credit * 1e9) / 1e9]);
const plan = (e: EvaluatedCall[], stored: Map<string, StoredCall> = new Map(), mode: 'report' | 'reevaluate' = 'report', learnt = NO_LEARNT_WEIGHTS) =>
  planWrites(e, new Map(e.map((x) => [x, credited(x, learnt)])), stored, mode);
const storedOf = (p: ReturnType<typeof plan>[number]): StoredCall => ({ row: p.row, credits: p.credits.filter((c) => c.is_deleted === 0) });

describe('crediting a call under every model (the rows of attribution_credits)', () => {
  const [e] = evaluate([report('c1')], lookups());

  it('matches the lease and credits the visitor path of the lookback window', () => {
    assert.equal(e!.decision.method, 'dynamic');
    assert.equal(e!.event.payload.sessionId, 's3');
    assert.equal(e!.event.payload.confidence, 1);
    assert.equal(visitOriginOf(e!.event.payload).analyticsIds.gaClientId, 'ga-1');
  });

  it('gives each model its hand-computed shares', () => {
    const c = credited(e!, {
      data_driven: new Map([
        ['organic_search', 0.5],
        ['paid_search', 0.3],
        ['direct', 0.2],
      ]),
      shapley: new Map([
        ['organic_search', 0.1],
        ['paid_search', 0.6],
        ['direct', 0.3],
      ]),
    });
    assert.deepEqual(byModel(c, 'last_non_direct_click'), [
      ['s1', 0],
      ['s2', 1],
      ['s3', 0],
    ]);
    assert.deepEqual(byModel(c, 'last_click'), [
      ['s1', 0],
      ['s2', 0],
      ['s3', 1],
    ]);
    assert.deepEqual(byModel(c, 'first_click'), [
      ['s1', 1],
      ['s2', 0],
      ['s3', 0],
    ]);
    assert.deepEqual(byModel(c, 'linear'), [
      ['s1', 0.333333333],
      ['s2', 0.333333333],
      ['s3', 0.333333333],
    ]);
    // Half-life 7 days: weights ¼, ½, 1 (the call's extra hour scales them all alike) → 1/7, 2/7, 4/7.
    assert.deepEqual(byModel(c, 'time_decay'), [
      ['s1', 0.142857143],
      ['s2', 0.285714286],
      ['s3', 0.571428571],
    ]);
    assert.deepEqual(byModel(c, 'position_based'), [
      ['s1', 0.4],
      ['s2', 0.2],
      ['s3', 0.4],
    ]);
    assert.deepEqual(byModel(c, 'data_driven'), [
      ['s1', 0.5],
      ['s2', 0.3],
      ['s3', 0.2],
    ]);
    assert.deepEqual(byModel(c, 'shapley'), [
      ['s1', 0.1],
      ['s2', 0.6],
      ['s3', 0.3],
    ]);
    // Without a learnt model, the learnt models fall back to linear.
    assert.deepEqual(byModel(credited(e!), 'data_driven'), byModel(c, 'linear'));
    assert.deepEqual(byModel(credited(e!), 'shapley'), byModel(c, 'linear'));
  });

  it('stores one row per model and credited touch, with the touch and the call version', () => {
    const [p] = plan([e!]);
    // 3 single-touch models × 1 + 5 sharing models × 3 touches: a touch a model gives nothing has no row.
    assert.equal(p!.credits.length, 18);
    assert.ok(p!.credits.every((c) => c.credit > 0 && c.touch_count === 3));
    const row = p!.credits.find((r) => r.model === 'time_decay' && r.session_id === 's2')!;
    assert.deepEqual(
      { ...row, credit: Math.round(row.credit * 1e9) / 1e9 },
      {
        site_id: SITE,
        call_id: 'c1',
        call_started_at: new Date(CALL_AT).toISOString(),
        model: 'time_decay',
        session_id: 's2',
        visitor_id: 'v',
        touch_index: 1,
        touch_count: 3,
        touch_at: new Date(T0 + 7 * DAY).toISOString(),
        channel: 'paid_search',
        utm_source: 'google',
        utm_medium: 'cpc',
        utm_campaign: '',
        utm_content: '',
        utm_term: '',
        credit: 0.285714286,
        settings_revision: 0,
        version: p!.row.version,
        is_deleted: 0,
      },
    );
  });

  it('uses the site settings: a 10-day lookback drops the 14-day-old visit; the time-decay half-life', () => {
    const [short] = evaluate([report('c1')], lookups({ settings: { ...defaultSiteSettings(), lookbackDays: 10, timeDecayHalfLifeDays: 1 } }));
    const c = credited(short!);
    assert.deepEqual(byModel(c, 'first_click'), [
      ['s2', 1],
      ['s3', 0],
    ]);
    // Half-life 1 day: s2 is 7 days older than s3 → weights 2^-7 : 1 → 1/129, 128/129.
    assert.deepEqual(byModel(c, 'time_decay'), [
      ['s2', 0.007751938],
      ['s3', 0.992248062],
    ]);
  });

  it('credits a static number as one touch, and an unmatched call not at all', () => {
    const [fixed, none] = evaluate(
      [report('c-static', { trackingNumber: STATIC }), report('c-default', { trackingNumber: DEFAULT, callerNumber: '' }, CALL_AT + 1)],
      lookups(),
    );
    assert.deepEqual(byModel(credited(fixed!), 'linear'), [['', 1]]);
    assert.equal(credited(fixed!).find((x) => x.model === 'first_click')?.touch.channel, 'other', 'an untagged offline source');
    assert.equal(none!.decision.method, 'unmatched');
    assert.deepEqual(credited(none!), []);
  });
});

describe('evaluating calls in call order', () => {
  it('lets a later call of the batch see the earlier one: repeat caller, repeat, same lead', () => {
    const first = report('c1');
    // Three days later the same person calls the site's own number: nothing matches it but the person.
    const again = report('c2', { trackingNumber: DEFAULT }, CALL_AT + 3 * DAY);
    const [a, b] = evaluate([again, first], lookups());
    assert.equal(a!.report.callId, 'c1', 'evaluated in call order whatever the input order');
    assert.equal(b!.decision.method, 'repeat_caller');
    assert.equal(b!.event.payload.visitorId, 'v');
    assert.equal(b!.event.payload.sourceCallId, 'c1');
    assert.equal(b!.event.payload.confidence, 0.5, "half of the earlier call's 1");
    assert.equal(b!.classification.callerType, 'repeat');
    assert.equal(b!.classification.leadId, 'c1');
    // Its path is the visitor's: credited like the first call, the last click on the direct visit.
    assert.deepEqual(byModel(credited(b!), 'last_non_direct_click'), [
      ['s1', 0],
      ['s2', 1],
      ['s3', 0],
    ]);
  });

  it("puts a visitor's calls from two numbers in one lead: a call of the batch, or a stored call of that visitor", () => {
    // The visitor calls from a mobile, then ten minutes later from the office, both on the number of their visit.
    const mobile = report('c1');
    const office = report('c2', { callerNumber: '+74997770011' }, CALL_AT + 10 * 60_000);
    const [a, b] = evaluate([office, mobile], lookups());
    assert.equal(b!.event.payload.visitorId, 'v');
    assert.equal(b!.classification.callerType, 'first', 'first from this number');
    assert.equal(a!.classification.leadId, 'c1');
    assert.equal(b!.classification.leadId, 'c1', 'the same person by visitor');
    // The mobile call stored before: the office call finds it among the visitor's contacts.
    const stored = { id: 'c1', kind: 'call' as const, phone: CALLER, visitorId: 'v', atMs: CALL_AT, leadId: 'c1' };
    const [alone] = evaluate([office], lookups({ personContacts: () => [stored] }));
    assert.equal(alone!.classification.leadId, 'c1');
    // Another visitor's call from another number is another lead.
    const [other] = evaluate([office], lookups({ personContacts: () => [{ ...stored, visitorId: 'w' }] }));
    assert.equal(other!.classification.leadId, 'c2');
  });

  it(
    "reads only what the leads need: a recording index tells whose contacts are looked up, and each one's latest earlier contact " +
      "and its lead's first give the same leads",
    () => {
      const c = (id: string, phone: string, visitorId: string, atMs: number, leadId: string, kind: 'call' | 'enquiry' = 'call'): Contact => ({
        id,
        kind,
        phone,
        visitorId,
        atMs,
        leadId,
      });
      // The site's stored contacts: the lead s1 began with another person (a chain through visitor v), several
      // earlier contacts of the caller and of v, one older than the lead window, one after the calls.
      const stored: Contact[] = [
        c('s1', '+70000000009', 'z', CALL_AT - 3 * DAY, 's1'),
        c('enquiry:f1', '', 'v', CALL_AT - 2 * DAY, 's1', 'enquiry'),
        c('s3', '+70000000001', 'v', CALL_AT - DAY, 's1'),
        c('s4', CALLER, 'w', CALL_AT - 10 * DAY, 's4'),
        c('s5', CALLER, '', CALL_AT - 5 * DAY, 's5'),
        c('s6', CALLER, '', CALL_AT + 5 * HOUR, 's6'),
        c('s7', '+70000000002', 'x', CALL_AT - HOUR, 's7'),
      ];
      const batch = [
        report('c1'),
        report('c2', { callerNumber: '+74997770011' }, CALL_AT + 10 * 60_000),
        report('c3', { callerNumber: '+70000000002', trackingNumber: DEFAULT }, CALL_AT + 20 * 60_000),
        report('c4', { callerNumber: '+70000000003' }, CALL_AT + 30 * 60_000, Verdict.VERDICT_SPAM),
      ];
      const recorder = new ContactProbes();
      evaluate(batch, lookups({ personContacts: () => recorder }));
      // Every inbound call that is not spam asks once, as itself (its caller, the visitor it was matched to, its start).
      assert.deepEqual(
        recorder.probes.map((p) => [p.id, p.phone, p.visitorId, p.atMs]),
        [
          ['c1', CALLER, 'v', CALL_AT],
          ['c2', '+74997770011', 'v', CALL_AT + 10 * 60_000],
          ['c3', '+70000000002', '', CALL_AT + 20 * 60_000],
        ],
      );
      const latestOf = (probe: Contact, key: 'phone' | 'visitorId'): Contact | undefined =>
        stored
          .filter((o) => probe[key] !== '' && o[key] === probe[key] && contactBefore(o, probe))
          .reduce<Contact | undefined>((a, o) => (!a || contactBefore(a, o) ? o : a), undefined);
      const latest = recorder.probes.flatMap((p) => [latestOf(p, 'phone'), latestOf(p, 'visitorId')]).filter((x): x is Contact => x !== undefined);
      const firsts = stored.filter((o) => latest.some((l) => l.leadId === o.id));
      const narrow = [...new Set([...latest, ...firsts])];
      assert.ok(narrow.length < stored.length && narrow.some((o) => o.id === 's1'));
      const leads = (contacts: readonly Contact[]) => evaluate(batch, lookups({ personContacts: () => contacts })).map((e) => e.classification.leadId);
      assert.deepEqual(leads(stored), ['s1', 's1', 's7', '']);
      assert.deepEqual(leads(narrow), leads(stored));
    },
  );

  it('links a redeemed promo code over the number, and marks a missed call called back by a later outbound call', () => {
    const redemption: Redemption = {
      eventId: 'r',
      siteId: SITE,
      promoCode: 'K7M2QX',
      sessionId: 's2',
      visitorId: 'v',
      leaseId: 'l-promo',
      callId: 'c1',
      callerNumber: '',
      calledAtMs: CALL_AT,
      redeemedAtMs: CALL_AT + HOUR,
      leaseGrantedAtMs: null,
    };
    const missed = report('c1', { answeredAtMs: 0, status: CallStatus.CALL_STATUS_MISSED, endedAtMs: CALL_AT + 20_000 });
    const back = report(
      'c-back',
      { direction: CallDirection.CALL_DIRECTION_OUTBOUND, trackingNumber: '', callerNumber: '', calledNumber: CALLER },
      CALL_AT + 2 * HOUR,
    );
    const [m, o] = evaluate([missed, back], lookups({ redemptions: [redemption] }));
    assert.equal(m!.decision.method, 'promo_code');
    assert.deepEqual([m!.event.payload.promoCode, m!.event.payload.sessionId, visitOriginOf(m!.event.payload).channel], ['K7M2QX', 's2', 'paid_search']);
    assert.deepEqual([m!.classification.missed, m!.classification.callbackStatus, m!.classification.callbackCallId], [true, 'called_back', 'c-back']);
    assert.deepEqual([o!.decision.method, o!.event.payload.matchReason], ['unmatched', 'outbound_call']);
  });
});

describe('versions and event ids', () => {
  const S0 = defaultSiteSettings();

  it('stores a new report under step 0 of its report version, and a redelivery identically', () => {
    const r = report('c1');
    const [p] = plan(evaluate([r], lookups()));
    assert.equal(p!.row.version, baseVersion(r.reportVersion, 0));
    assert.equal(p!.row.version, BigInt(3 * 16 + 3) << 26n);
    assert.equal(p!.event.eventId, 'e-c1-3:attributed');
    assert.equal(p!.publish, true);
    const stored = new Map([[`${SITE}\nc1`, storedOf(p!)]]);
    const [again] = plan(evaluate([r], lookups()), stored);
    assert.deepEqual(
      [again!.row.version, again!.event.eventId, again!.publish, again!.credits.length],
      [p!.row.version, p!.event.eventId, true, 0],
      'a duplicate changes nothing',
    );
  });

  it('re-attributes a stored report with the next step, and a later report still outranks it', () => {
    const r = report('c1', { trackingNumber: DEFAULT });
    const [p] = plan(evaluate([r], lookups()));
    assert.equal(p!.row.match_method, 'unmatched');
    const stored = new Map([[`${SITE}\nc1`, storedOf(p!)]]);
    // Nothing new: a re-evaluation writes nothing.
    assert.deepEqual(plan(evaluate([reportOfRow(p!.row)], lookups()), stored, 'reevaluate'), []);
    // A promo code redeemed for the call: same report, next step, a new event.
    const redemption: Redemption = {
      eventId: 'r',
      siteId: SITE,
      promoCode: 'K7M2QX',
      sessionId: 's2',
      visitorId: 'v',
      leaseId: 'l-promo',
      callId: 'c1',
      callerNumber: '',
      calledAtMs: CALL_AT,
      redeemedAtMs: CALL_AT + HOUR,
      leaseGrantedAtMs: null,
    };
    const [re] = plan(evaluate([reportOfRow(p!.row)], lookups({ redemptions: [redemption] })), stored, 'reevaluate');
    assert.equal(re!.row.match_method, 'promo_code');
    assert.equal(re!.row.version, p!.row.version + 1n);
    assert.equal(re!.row.report_version, p!.row.report_version);
    assert.equal(re!.event.eventId, `e-c1-3:attributed:${p!.row.version + 1n}`);
    assert.equal(re!.publish, true);
    assert.equal(re!.credits.length, 18, "the promo visit's visitor path is credited now");
    // The provider's next report (sequence 4) outranks the re-attribution.
    const next = report('c1', { trackingNumber: DEFAULT, sequence: 4 });
    const [later] = plan(evaluate([next], lookups({ redemptions: [redemption] })), new Map([[`${SITE}\nc1`, storedOf(re!)]]));
    assert.ok(later!.row.version > re!.row.version);
    assert.equal(later!.event.eventId, 'e-c1-4:attributed');
    // A re-evaluation of the older report, once the newer one is stored, writes nothing.
    assert.deepEqual(
      plan(evaluate([reportOfRow(re!.row)], lookups({ redemptions: [redemption] })), new Map([[`${SITE}\nc1`, storedOf(later!)]]), 'reevaluate'),
      [],
    );
  });

  it('moves a recompute under new settings to that revision, publishing only what more than the revision changed', () => {
    const r = report('c1');
    const [p] = plan(evaluate([r], lookups()));
    const stored = new Map([[`${SITE}\nc1`, storedOf(p!)]]);
    const s1: SiteSettings = { ...S0, revision: 1, timeDecayHalfLifeDays: 1 };
    const [re] = plan(evaluate([reportOfRow(p!.row)], lookups({ settings: s1 })), stored, 'reevaluate');
    assert.equal(re!.row.version, baseVersion(r.reportVersion, 1));
    assert.equal(re!.row.settings_revision, 1);
    assert.equal(re!.publish, false, 'origin and classification are unchanged');
    // Every current touch is rewritten under the new version (time-decay credits changed).
    assert.equal(re!.credits.filter((c) => c.version === re!.row.version).length, 18);
    // Recomputing again under the same revision: nothing to write.
    assert.deepEqual(plan(evaluate([reportOfRow(re!.row)], lookups({ settings: s1 })), new Map([[`${SITE}\nc1`, storedOf(re!)]]), 'reevaluate'), []);
    // A shorter lookback retracts the touch it no longer reaches.
    const s2: SiteSettings = { ...s1, revision: 2, lookbackDays: 10 };
    const [shorter] = plan(evaluate([reportOfRow(re!.row)], lookups({ settings: s2 })), new Map([[`${SITE}\nc1`, storedOf(re!)]]), 'reevaluate');
    // s1 had credit under first click, linear, time decay, position-based, data-driven and Shapley.
    const retracted = shorter!.credits.filter((c) => c.is_deleted === 1);
    assert.equal(retracted.length, 6);
    assert.ok(retracted.every((c) => c.session_id === 's1' && c.version === shorter!.row.version));
  });

  it('reads a stored row back as the report it holds', () => {
    const r = report('c1', { recordingUrl: 'https://rec/1.mp3', calledNumber: '' });
    const [p] = plan(evaluate([r], lookups()));
    const back = reportOfRow(p!.row);
    assert.deepEqual(
      [back.callId, back.reportEventId, back.reportVersion, back.keyStartMs, back.verdict],
      ['c1', 'e-c1-3', r.reportVersion, CALL_AT, Verdict.VERDICT_CLEAN],
    );
    assert.deepEqual(
      [back.call.status, back.call.direction, back.call.sequence, back.call.recordingUrl, back.call.answeredAtMs],
      [CallStatus.CALL_STATUS_COMPLETED, CallDirection.CALL_DIRECTION_INBOUND, 3, 'https://rec/1.mp3', CALL_AT + 5_000],
    );
    assert.equal(DEFAULT_SETTINGS.lookbackDays, 30);
  });
});
