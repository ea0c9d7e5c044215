// The pure decision core (evaluate: facts + reports → evaluated calls), case by case:
// given the facts ClickHouse would hold, when the reports are evaluated, then the decision.
// Rule cases that need no broker live here rather than in the integration suites.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { calltrack, visitOriginOf } from '@calltrack/contracts';
import type { LeaseCandidate, VisitSource, HistoryCall } from '../matching/call-matching.js';
import { creditsForCall, type CallReport, type EvaluatedCall, type EvaluationLookups } from './call-evaluation.js';
import { callVersion } from './call-version.js';
import { evaluate } from './evaluate.js';
import { defaultSiteSettings, settingsFromBody, type SiteSettings } from '../settings/attribution-settings.js';
import { NO_LEARNT_WEIGHTS } from '../models/attribution-models.js';

const { CallStatus, CallDirection, MatchMethod, Verdict } = calltrack.events.v1;
const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const SITE = 'shop';
const DEFAULT_NUMBER = '+74950000000';
const STATIC_NUMBER = '+74957770000';
const P1 = '+74951000001';
const P3 = '+74951000003';
// Monday 5 October 2026, 10:00 in Moscow.
const MON_10_MSK = Date.parse('2026-10-05T07:00:00Z');
const office = Object.fromEntries(['mon', 'tue', 'wed', 'thu', 'fri'].map((d) => [d, [{ from: '09:00', to: '18:00' }]]));
/** The settings of the integration suite's shop after its first change (revision 1). */
const SHOP: SiteSettings = {
  ...defaultSiteSettings(),
  ...settingsFromBody({ targetCallSeconds: 60, callbackWindowHours: 1, workingHours: office, holidays: ['2026-10-09'] }),
  revision: 1,
};

const utm = (source: string, medium: string, campaign = '') => ({ source, medium, campaign, content: '', term: '' });
const visit = (sessionId: string, visitorId: string, startedAtMs: number, channel: string, tags = utm('', '')): VisitSource => ({
  sessionId,
  visitorId,
  startedAtMs,
  channel,
  utm: tags,
  referrer: '',
  landingPage: '',
  clickIds: {},
  analyticsIds: { gaClientId: '', ymUid: '', fbp: '', fbc: '' },
});
const lease = (
  leaseId: string,
  sessionId: string,
  visitorId: string,
  number: string,
  grantedAtMs: number,
  releasedAtMs: number | null = null,
): LeaseCandidate => ({
  siteId: SITE,
  leaseId,
  sessionId,
  visitorId,
  trackingNumber: number,
  grantedAtMs,
  expiresAtMs: grantedAtMs + 15 * MIN,
  releasedAtMs,
});

/** A provider's final report of an answered inbound call (or as `over` says). */
function call(callId: string, to: string, from: string, at: number, talkSeconds = 90, over: Partial<calltrack.events.v1.ICallReported> = {}): CallReport {
  const reported = calltrack.events.v1.CallReported.fromObject({
    callId,
    provider: 'generic',
    providerCallId: callId,
    trackingNumber: to,
    callerNumber: from,
    direction: CallDirection.CALL_DIRECTION_INBOUND,
    status: CallStatus.CALL_STATUS_COMPLETED,
    startedAtMs: at,
    answeredAtMs: at + 5_000,
    endedAtMs: at + 5_000 + talkSeconds * 1000,
    sequence: 3,
    ...over,
  });
  return {
    siteId: SITE,
    callId,
    reportEventId: `e-${callId}`,
    call: reported,
    verdict: Verdict.VERDICT_CLEAN,
    verdictReason: '',
    keyStartMs: at,
    reportVersion: callVersion(reported),
    occurredAtMs: at,
  };
}

/** The facts: the site's numbers and settings, leases of its numbers, stored visits and calls. */
function given(
  facts: { leases?: LeaseCandidate[]; visits?: VisitSource[]; history?: HistoryCall[]; settings?: SiteSettings; nowMs?: number } = {},
): EvaluationLookups {
  const settings = facts.settings ?? SHOP;
  return {
    nowMs: facts.nowMs ?? MON_10_MSK + 30 * DAY,
    graceMs: 10 * MIN,
    site: () => ({
      timeZone: 'Europe/Moscow',
      numbers: {
        defaultNumber: DEFAULT_NUMBER,
        poolNumbers: [P1, P3],
        staticNumbers: [{ number: STATIC_NUMBER, utmSource: 'billboard', utmMedium: 'offline', utmCampaign: 'ring-road', channel: '', label: '' }],
      },
    }),
    settings: () => settings,
    leases: (_site, number) => (facts.leases ?? []).filter((l) => l.trackingNumber === number),
    redemptions: [],
    history: facts.history ?? [],
    visit: (_site, sessionId) => (facts.visits ?? []).find((v) => v.sessionId === sessionId),
  };
}

const when = (facts: EvaluationLookups, ...reports: CallReport[]): EvaluatedCall[] => evaluate(reports, facts);
const decisionOf = (e: EvaluatedCall) => {
  const p = e.event.payload;
  return { method: p.method, reason: p.matchReason, session: p.sessionId ?? '', visitor: p.visitorId ?? '', confidence: p.confidence ?? 0 };
};

describe('evaluate: given the facts, when calls are evaluated, then their match, classification and lead', () => {
  it('given two visitors who held the number minutes apart, when a call comes, then the latest grant wins, less sure for the other', () => {
    // Visitor A held P1 until 10:16; visitor B got it at 10:20; the call at 10:21 could be either.
    const facts = given({
      leases: [lease('l-a', 's-a', 'v-a', P1, MON_10_MSK, MON_10_MSK + 16 * MIN), lease('l-b', 's-b', 'v-b', P1, MON_10_MSK + 20 * MIN)],
      visits: [
        visit('s-a', 'v-a', MON_10_MSK, 'paid_search', utm('google', 'cpc')),
        visit('s-b', 'v-b', MON_10_MSK + 20 * MIN, 'organic_search', utm('google', 'organic')),
      ],
    });
    const [e] = when(facts, call('c-multi', P1, '+79160000001', MON_10_MSK + 21 * MIN, 45));
    // p(B) = 1 (held), p(A) = 1 − ½·5/10 = 0.75 (ended 5 of the 10 grace minutes ago): 1·1/1.75.
    assert.deepEqual(decisionOf(e!), {
      method: MatchMethod.MATCH_METHOD_DYNAMIC,
      reason: 'lease_active',
      session: 's-b',
      visitor: 'v-b',
      confidence: 0.571429,
    });
    assert.equal(visitOriginOf(e!.event.payload).channel, 'organic_search');
    assert.equal(e!.classification.target, false, 'talked 45 s, the site threshold is 60 s');
    assert.equal(e!.classification.outsideHours, false, 'Monday 10:21 in Moscow');
    assert.equal(e!.classification.callerType, 'first');
    assert.equal(e!.classification.leadId, 'c-multi');
    assert.equal(e!.event.payload.settingsRevision, 1);
  });

  it("given a static number, working hours and holidays, when calls come at chosen local times, then the site's time zone decides", () => {
    // 09:30 Moscow is open (06:30 UTC would not be), 19:30 Moscow is closed (16:30 UTC would be
    // open), and Friday 9 October is a holiday.
    const [morning, evening, holiday] = when(
      given(),
      call('c-0930', STATIC_NUMBER, '+79160000002', Date.parse('2026-10-05T06:30:00Z'), 60),
      call('c-1930', STATIC_NUMBER, '+79160000003', Date.parse('2026-10-05T16:30:00Z')),
      call('c-holiday', STATIC_NUMBER, '+79160000004', Date.parse('2026-10-09T08:00:00Z')),
    );
    assert.deepEqual(decisionOf(morning!), { method: MatchMethod.MATCH_METHOD_STATIC, reason: 'static_number', session: '', visitor: '', confidence: 1 });
    assert.deepEqual(visitOriginOf(morning!.event.payload).utm, { source: 'billboard', medium: 'offline', campaign: 'ring-road', content: '', term: '' });
    assert.deepEqual([morning!.classification.outsideHours, morning!.classification.holiday, morning!.classification.target], [false, false, true]);
    assert.deepEqual([evening!.classification.outsideHours, evening!.classification.holiday], [true, false]);
    assert.deepEqual([holiday!.classification.outsideHours, holiday!.classification.holiday], [true, true]);
  });

  it('given numbers the site does not lease, when calls come, then they are unmatched and say why', () => {
    const [untracked, byDefault] = when(
      given(),
      call('c-untracked', '+74959999999', '+79160000005', MON_10_MSK),
      call('c-default', DEFAULT_NUMBER, '+79160000006', MON_10_MSK + MIN),
    );
    assert.deepEqual([decisionOf(untracked!).method, decisionOf(untracked!).reason], [MatchMethod.MATCH_METHOD_UNMATCHED, 'number_not_tracked']);
    assert.deepEqual([decisionOf(byDefault!).method, decisionOf(byDefault!).reason], [MatchMethod.MATCH_METHOD_UNMATCHED, 'default_number']);
  });

  describe('a repeat caller is credited to the visitor of their earlier call, across devices', () => {
    const t = MON_10_MSK - 2 * DAY;
    const laptop = visit('s-r1', 'v-laptop', t, 'paid_social', utm('vk', 'paid_social', 'spring'));
    const first = call('c-r1', P3, '+79163000001', t + MIN);
    // Two days later, from the same phone, to the number on the site's contacts page (a phone, no visit, no lease).
    const second = call('c-r2', DEFAULT_NUMBER, '+79163000001', MON_10_MSK - MIN);
    const expectRepeat = (e: EvaluatedCall) => {
      const p = e.event.payload;
      assert.deepEqual(
        [
          p.method,
          p.matchReason,
          p.visitorId,
          p.sessionId,
          p.sourceCallId,
          visitOriginOf(p).utm.campaign,
          p.confidence,
          e.classification.callerType,
          e.classification.leadId,
        ],
        [MatchMethod.MATCH_METHOD_REPEAT_CALLER, 'repeat_caller', 'v-laptop', 's-r1', 'c-r1', 'spring', 0.5, 'repeat', 'c-r1'],
      );
      const lastClick = creditsForCall(e, [laptop], NO_LEARNT_WEIGHTS).filter((c) => c.model === 'last_click');
      assert.deepEqual(
        lastClick.map((c) => [c.touch.channel, c.credit]),
        [['paid_social', 1]],
      );
    };

    it('given the earlier call stored, when the later call comes, then it inherits that visitor at half the confidence', () => {
      const [stored] = when(given({ leases: [lease('l-r1', 's-r1', 'v-laptop', P3, t)], visits: [laptop] }), first);
      assert.equal(decisionOf(stored!).method, MatchMethod.MATCH_METHOD_DYNAMIC);
      const history: HistoryCall = {
        siteId: SITE,
        callId: 'c-r1',
        direction: 'inbound',
        callerNumber: '+79163000001',
        calledNumber: '',
        startedAtMs: t + MIN,
        matchMethod: 'dynamic',
        matchConfidence: 1,
        sessionId: 's-r1',
        visitorId: 'v-laptop',
        leaseId: 'l-r1',
        sessionStartedAtMs: t,
        channel: 'paid_social',
        utm: utm('vk', 'paid_social', 'spring'),
        referrer: '',
        landingPage: '',
        clickIds: {},
        leadId: 'c-r1',
      };
      const [e] = when(given({ visits: [laptop], history: [history] }), second);
      expectRepeat(e!);
    });

    it('given both calls in one batch, when they are evaluated together, then the later one inherits the origin the earlier one was just given', () => {
      const [a, b] = when(given({ leases: [lease('l-r1', 's-r1', 'v-laptop', P3, t)], visits: [laptop] }), second, first);
      assert.equal(a!.report.callId, 'c-r1', 'in call order');
      assert.equal(decisionOf(a!).method, MatchMethod.MATCH_METHOD_DYNAMIC);
      expectRepeat(b!);
    });
  });

  it('given a lease released within the grace period, when calls come before and after it ends, then only the first is matched', () => {
    const facts = given({
      leases: [lease('l-y', 's-y', 'v-y', P1, MON_10_MSK, MON_10_MSK + 15 * MIN)],
      visits: [visit('s-y', 'v-y', MON_10_MSK, 'paid_search', utm('yandex', 'cpc'))],
    });
    const [grace, late] = when(facts, call('c-grace', P1, '+79160000007', MON_10_MSK + 20 * MIN), call('c-late', P1, '+79160000008', MON_10_MSK + 28 * MIN));
    assert.deepEqual([decisionOf(grace!).reason, visitOriginOf(grace!.event.payload).utm.source], ['lease_released_within_grace', 'yandex']);
    assert.deepEqual(
      [decisionOf(late!).method, decisionOf(late!).reason, decisionOf(late!).session],
      [MatchMethod.MATCH_METHOD_UNMATCHED, 'no_lease_for_number', ''],
    );
  });

  it('given a spam verdict, when the call to a leased number comes, then it keeps its match but is nobody’s lead', () => {
    const facts = given({ leases: [lease('l-s', 's-s', 'v-s', P1, MON_10_MSK)], visits: [visit('s-s', 'v-s', MON_10_MSK, 'direct')] });
    const [e] = when(facts, { ...call('c-spam', P1, '+79160000009', MON_10_MSK + MIN), verdict: Verdict.VERDICT_SPAM });
    assert.equal(decisionOf(e!).session, 's-s');
    assert.equal(e!.classification.leadId, '');
    assert.equal(e!.classification.target, false);
  });

  it('given defaults, when an outbound call is placed, then it is no conversion and belongs to no lead', () => {
    const [e] = when(
      given({ settings: defaultSiteSettings() }),
      call('c-out', '', '', MON_10_MSK, 30, { direction: CallDirection.CALL_DIRECTION_OUTBOUND, calledNumber: '+79160000010' }),
    );
    assert.deepEqual([decisionOf(e!).method, decisionOf(e!).reason, e!.classification.leadId], [MatchMethod.MATCH_METHOD_UNMATCHED, 'outbound_call', '']);
  });
});
