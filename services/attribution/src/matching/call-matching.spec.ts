import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { calltrack, visitOrigin } from '@calltrack/contracts';
import {
  decideMatch,
  matchLease,
  mayImproveWithState,
  originOf,
  redemptionFor,
  repeatCallerSource,
  withRepeatCaller,
  type HistoryCall,
  type LeaseCandidate,
  type Redemption,
  type SiteNumbers,
  type VisitSource,
} from './call-matching.js';

const { MatchMethod } = calltrack.events.v1;
const MIN = 60_000;
const GRACE = 10 * MIN;

const lease = (id: string, grantedMin: number, expiresMin: number, releasedMin: number | null = null): LeaseCandidate => ({
  siteId: 'shop',
  leaseId: id,
  sessionId: `s-${id}`,
  visitorId: `v-${id}`,
  trackingNumber: '+74951000001',
  grantedAtMs: grantedMin * MIN,
  expiresAtMs: expiresMin * MIN,
  releasedAtMs: releasedMin === null ? null : releasedMin * MIN,
});

const site: SiteNumbers = {
  defaultNumber: '+74950000000',
  poolNumbers: ['+74951000001', '+74951000002'],
  staticNumbers: [
    { number: '+74957770000', utmSource: 'billboard', utmMedium: 'offline', utmCampaign: 'ring-road', channel: 'display', label: 'billboard on the ring road' },
  ],
};

const visit: VisitSource = {
  sessionId: 's-a',
  visitorId: 'v-a',
  startedAtMs: 0,
  channel: 'paid_search',
  utm: { source: 'google', medium: 'cpc', campaign: 'brand', content: '', term: 'flowers' },
  referrer: 'https://www.google.com/',
  landingPage: 'https://shop.example/?gclid=g1',
  clickIds: { gclid: 'g1' },
  analyticsIds: { gaClientId: '1.2', ymUid: '', fbp: '', fbc: '' },
};

describe('matchLease', () => {
  it('matches a lease still held when the call started', () => {
    assert.deepEqual(matchLease([lease('a', 0, 15)], 5 * MIN, GRACE), { lease: lease('a', 0, 15), reason: 'lease_active', confidence: 1 });
  });

  it('counts a call at the very moment of release as active, within the grace as released, after it as none', () => {
    const l = lease('a', 0, 15, 10);
    assert.equal(matchLease([l], 10 * MIN, GRACE)?.reason, 'lease_active');
    assert.equal(matchLease([l], 20 * MIN, GRACE)?.reason, 'lease_released_within_grace');
    assert.equal(matchLease([l], 20 * MIN + 1, GRACE), undefined);
  });

  it('keeps matching a lease without a release, whatever its expiry says', () => {
    assert.equal(matchLease([lease('a', 0, 15)], 60 * MIN, GRACE)?.reason, 'lease_active');
  });

  it('ignores leases granted after the call started', () => {
    assert.equal(matchLease([lease('later', 10, 25)], 5 * MIN, GRACE), undefined);
    assert.equal(matchLease([lease('now', 5, 20)], 5 * MIN, GRACE)?.lease.leaseId, 'now');
  });

  it('picks the latest grant when several qualify, in any input order', () => {
    const old = lease('old', 0, 15, 5);
    const next = lease('new', 6, 21);
    assert.equal(matchLease([old, next], 7 * MIN, GRACE)?.lease.leaseId, 'new');
    assert.equal(matchLease([next, old], 7 * MIN, GRACE)?.lease.leaseId, 'new');
    // Before the second grant, the number still belonged to the first visitor (in its grace):
    // half a minute of the 10-minute grace gone, p = 1 − ½·0.5/10 = 0.975, the only candidate.
    assert.deepEqual(matchLease([old, next], 5 * MIN + 30_000, GRACE), { lease: old, reason: 'lease_released_within_grace', confidence: 0.975 });
  });

  it('decides a tie in grant time by lease id, so a replay decides the same way', () => {
    assert.equal(matchLease([lease('b', 1, 15), lease('c', 1, 15)], 2 * MIN, GRACE)?.lease.leaseId, 'c');
    assert.equal(matchLease([lease('c', 1, 15), lease('b', 1, 15)], 2 * MIN, GRACE)?.lease.leaseId, 'c');
    // Two leases held at once (a release not stored yet): each as plausible, confidence 1·1/2.
    assert.equal(matchLease([lease('b', 1, 15), lease('c', 1, 15)], 2 * MIN, GRACE)?.confidence, 0.5);
  });

  it('lowers the confidence when another visitor saw the number within the grace period', () => {
    // old released at 5, new granted at 6, call at 7: old ended 2 of the 10 grace minutes ago,
    // p_old = 1 − ½·2/10 = 0.9; p_new = 1 (held); confidence = 1·1 / (1 + 0.9) = 0.526316.
    const m = matchLease([lease('old', 0, 15, 5), lease('new', 6, 21)], 7 * MIN, GRACE);
    assert.equal(m?.lease.leaseId, 'new');
    assert.equal(m?.confidence, 0.526316);
    // A lease without a stored release counts as ended when the next lease of the number was
    // granted (at 6): 1 minute before the call, p_old = 0.95, confidence 1 / 1.95 = 0.512821.
    assert.equal(matchLease([lease('old', 0, 15), lease('new', 6, 21)], 7 * MIN, GRACE)?.confidence, 0.512821);
    // Ended 12 minutes before the call (> grace): no longer a candidate, confidence 1.
    assert.equal(matchLease([lease('old', 0, 15, 5), lease('new', 6, 21)], 17 * MIN, GRACE)?.confidence, 1);
  });

  it('rates a lone released lease by how long ago it ended', () => {
    // Released at 10, call at 15: p = 1 − ½·5/10 = 0.75, and it is the only candidate: 0.75·0.75/0.75.
    assert.deepEqual(matchLease([lease('a', 0, 15, 10)], 15 * MIN, GRACE), {
      lease: lease('a', 0, 15, 10),
      reason: 'lease_released_within_grace',
      confidence: 0.75,
    });
    // Released at 5, then another visitor's lease released at 10, call at 12:
    // p_b = 1 − ½·2/10 = 0.9 (winner), p_a = 1 − ½·7/10 = 0.65 → 0.81 / 1.55 = 0.522581.
    assert.equal(matchLease([lease('a', 0, 15, 5), lease('b', 6, 21, 10)], 12 * MIN, GRACE)?.confidence, 0.522581);
  });
});

describe('decideMatch', () => {
  // null: the site's configuration is unknown (undefined would take the default).
  const decide = (number: string, leases: LeaseCandidate[], at = 5 * MIN, s: SiteNumbers | null = site) =>
    decideMatch({ trackingNumber: number, callStartMs: at, graceMs: GRACE, site: s ?? undefined, leases });

  it('matches dynamically when a lease covers the call', () => {
    const d = decide('+74951000001', [lease('a', 0, 15)]);
    assert.equal(d.method, 'dynamic');
    assert.equal(d.method === 'dynamic' && d.lease.leaseId, 'a');
    assert.equal(d.method === 'dynamic' && d.stateMayBeBehind, false);
  });

  it('flags a matched lease past its expiry without a release: its release may be in flight', () => {
    const d = decide('+74951000001', [lease('a', 0, 15)], 16 * MIN);
    assert.equal(d.method === 'dynamic' && d.stateMayBeBehind, true);
  });

  it('credits a static number to its source', () => {
    assert.deepEqual(decide('+74957770000', []), {
      method: 'static',
      source: { utmSource: 'billboard', utmMedium: 'offline', utmCampaign: 'ring-road', channel: 'display', label: 'billboard on the ring road' },
      confidence: 1,
    });
  });

  it('never matches an outbound call, and lets a redeemed promo code beat the number', () => {
    assert.deepEqual(decideMatch({ trackingNumber: '+74951000001', callStartMs: 5 * MIN, graceMs: GRACE, site, leases: [lease('a', 0, 15)], outbound: true }), {
      method: 'unmatched',
      reason: 'outbound_call',
    });
    const d = decideMatch({
      trackingNumber: '+74951000001',
      callStartMs: 5 * MIN,
      graceMs: GRACE,
      site,
      leases: [lease('a', 0, 15)],
      promo: { redemption: redemption({ callId: 'c1' }), reason: 'promo_code_call_id', confidence: 1 },
    });
    assert.equal(d.method, 'promo_code');
  });

  it('says why a call is unmatched', () => {
    assert.deepEqual(decide('+74951000002', []), { method: 'unmatched', reason: 'no_lease_for_number' });
    assert.deepEqual(decide('+74951000001', [lease('a', 0, 1, 1)], 30 * MIN), { method: 'unmatched', reason: 'no_lease_for_number' });
    assert.deepEqual(decide('+74950000000', []), { method: 'unmatched', reason: 'default_number' });
    assert.deepEqual(decide('+74959999999', []), { method: 'unmatched', reason: 'number_not_tracked' });
    assert.deepEqual(decide('+74959999999', [], 5 * MIN, null), { method: 'unmatched', reason: 'unknown_site' });
  });

  it('still matches a lease of a site whose configuration is not known yet', () => {
    assert.equal(decide('+74951000001', [lease('a', 0, 15)], 5 * MIN, null).method, 'dynamic');
  });
});

describe('mayImproveWithState', () => {
  it('waits for state while the decision could change, never for a static number', () => {
    const dynamic = (behind: boolean) => ({
      method: 'dynamic' as const,
      lease: lease('a', 0, 15),
      reason: 'lease_active' as const,
      stateMayBeBehind: behind,
      confidence: 1,
    });
    assert.equal(mayImproveWithState(dynamic(false), visit), false);
    assert.equal(mayImproveWithState(dynamic(false), undefined), true, 'the visit is not stored yet');
    assert.equal(mayImproveWithState(dynamic(true), visit), true);
    assert.equal(mayImproveWithState({ method: 'unmatched', reason: 'no_lease_for_number' }, undefined), true);
    assert.equal(
      mayImproveWithState({ method: 'static', source: { utmSource: 'x', utmMedium: '', utmCampaign: '', channel: '', label: '' }, confidence: 1 }, undefined),
      false,
    );
    assert.equal(mayImproveWithState({ method: 'unmatched', reason: 'outbound_call' }, undefined), false, 'an outbound call never matches');
    const source = { callId: 'earlier', sessionId: 's', visitorId: 'v', matchConfidence: 1 } as HistoryCall;
    assert.equal(mayImproveWithState({ method: 'repeat_caller', source, confidence: 0.5 }, visit), true, 'a lease in flight would match the call itself');
    const red = { sessionId: 's', visitorId: 'v' } as Redemption;
    assert.equal(mayImproveWithState({ method: 'promo_code', redemption: red, reason: 'promo_code_call_id', confidence: 1 }, undefined), true, 'its visit');
    assert.equal(mayImproveWithState({ method: 'promo_code', redemption: red, reason: 'promo_code_call_id', confidence: 1 }, visit), false);
  });
});

describe('originOf', () => {
  it('copies the visit of a dynamic match', () => {
    const o = originOf({ method: 'dynamic', lease: lease('a', 0, 15), reason: 'lease_released_within_grace', stateMayBeBehind: false, confidence: 0.8 }, visit);
    assert.equal(o.confidence, 0.8);
    assert.equal(o.method, MatchMethod.MATCH_METHOD_DYNAMIC);
    assert.equal(o.matchReason, 'lease_released_within_grace');
    assert.equal(o.leaseId, 'a');
    assert.equal(o.sessionId, 's-a');
    assert.equal(o.origin.channel, 'paid_search');
    assert.deepEqual(o.origin.utm, visit.utm);
    assert.deepEqual(o.origin.clickIds, { gclid: 'g1' });
    assert.equal(o.origin.analyticsIds.gaClientId, '1.2');
  });

  it('keeps the lease of a match whose visit is unknown and says so', () => {
    const o = originOf({ method: 'dynamic', lease: lease('a', 0, 15), reason: 'lease_active', stateMayBeBehind: false, confidence: 1 }, undefined);
    assert.equal(o.matchReason, 'lease_active_visit_missing');
    assert.equal(o.sessionId, 's-a');
    assert.deepEqual(o.origin, visitOrigin());
  });

  it('gives a static number its source and channel, and an unmatched call only its reason', () => {
    const s = originOf(
      { method: 'static', source: { utmSource: 'google', utmMedium: 'cpc', utmCampaign: 'print', channel: '', label: '' }, confidence: 1 },
      undefined,
    );
    assert.equal(s.method, MatchMethod.MATCH_METHOD_STATIC);
    assert.equal(s.matchReason, 'static_number');
    assert.equal(s.origin.channel, 'paid_search');
    assert.deepEqual(s.origin.utm, { source: 'google', medium: 'cpc', campaign: 'print', content: '', term: '' });
    assert.equal(
      originOf({ method: 'static', source: { utmSource: '', utmMedium: '', utmCampaign: '', channel: '', label: '' }, confidence: 1 }, undefined).origin
        .channel,
      'other',
    );
    // The channel and label the number was given are the credited source, whatever its tags.
    const billboard = originOf(
      {
        method: 'static',
        source: { utmSource: 'google', utmMedium: 'cpc', utmCampaign: '', channel: 'display', label: 'billboard on the ring road' },
        confidence: 1,
      },
      undefined,
    );
    assert.equal(billboard.origin.channel, 'display');
    assert.equal(billboard.sourceLabel, 'billboard on the ring road');
    assert.deepEqual(originOf({ method: 'unmatched', reason: 'number_not_tracked' }, undefined), {
      method: MatchMethod.MATCH_METHOD_UNMATCHED,
      matchReason: 'number_not_tracked',
      origin: visitOrigin(),
    });
  });
});

function redemption(over: Partial<Redemption>): Redemption {
  return {
    eventId: 'r1',
    siteId: 'shop',
    promoCode: 'K7M2QX',
    sessionId: 's-promo',
    visitorId: 'v-promo',
    leaseId: 'l-promo',
    callId: '',
    callerNumber: '',
    calledAtMs: 0,
    redeemedAtMs: 100 * MIN,
    leaseGrantedAtMs: null,
    ...over,
  };
}

function earlier(over: Partial<HistoryCall>): HistoryCall {
  return {
    siteId: 'shop',
    callId: 'c-early',
    direction: 'inbound',
    callerNumber: '+79160000001',
    calledNumber: '',
    startedAtMs: 0,
    matchMethod: 'dynamic',
    matchConfidence: 0.8,
    sessionId: 's-early',
    visitorId: 'v-early',
    leaseId: 'l-early',
    sessionStartedAtMs: 0,
    channel: 'paid_search',
    utm: { source: 'google', medium: 'cpc', campaign: 'brand', content: '', term: '' },
    referrer: '',
    landingPage: '',
    clickIds: {},
    leadId: 'c-early',
    ...over,
  };
}

describe('redemptionFor (promo codes)', () => {
  const call = { siteId: 'shop', callId: 'c1', callerNumber: '+79160000001', startedAtMs: 60 * MIN };

  it('links a call named by id, certain; a correction (later redemption) wins', () => {
    const r = redemptionFor(
      call,
      [redemption({ eventId: 'a', callId: 'c1', redeemedAtMs: 1 }), redemption({ eventId: 'b', callId: 'c1', promoCode: 'NEW', redeemedAtMs: 2 })],
      [],
    );
    assert.equal(r?.reason, 'promo_code_call_id');
    assert.equal(r?.confidence, 1);
    assert.equal(r?.redemption.promoCode, 'NEW');
    assert.equal(redemptionFor(call, [redemption({ callId: 'c2' })], []), undefined, 'another call');
    assert.equal(redemptionFor(call, [redemption({ callId: 'c1', siteId: 'other' })], []), undefined, 'another site');
  });

  it("links by caller and time the nearest of the caller's calls within 15 minutes, 1/n sure", () => {
    const callerCalls = [
      { callId: 'c0', startedAtMs: 50 * MIN },
      { callId: 'c1', startedAtMs: 60 * MIN },
      { callId: 'c9', startedAtMs: 90 * MIN },
    ];
    // Stated 10:58 for a call at 11:00 and one at 10:50: both within 15 minutes, c1 nearest → ½.
    const r = redemptionFor(call, [redemption({ callerNumber: '+79160000001', calledAtMs: 58 * MIN })], callerCalls);
    assert.equal(r?.reason, 'promo_code_caller_time');
    assert.equal(r?.confidence, 0.5);
    // Stated 10:52: c0 is nearer, so the code is not this call's.
    assert.equal(redemptionFor(call, [redemption({ callerNumber: '+79160000001', calledAtMs: 52 * MIN })], callerCalls), undefined);
    // Stated 11:10: only c1 within 15 minutes (c0 and c9 are 20 away) → certain.
    assert.equal(redemptionFor(call, [redemption({ callerNumber: '+79160000001', calledAtMs: 70 * MIN })], callerCalls)?.confidence, 1);
    // Stated 11:15: c1 and c9 both 15 minutes away; the tie goes to the smaller call id, ½ sure.
    assert.equal(redemptionFor(call, [redemption({ callerNumber: '+79160000001', calledAtMs: 75 * MIN })], callerCalls)?.confidence, 0.5);
    // 16 minutes off: none.
    assert.equal(
      redemptionFor(call, [redemption({ callerNumber: '+79160000001', calledAtMs: 44 * MIN })], [{ callId: 'c1', startedAtMs: 60 * MIN }]),
      undefined,
    );
    // A call id beats a caller-and-time redemption.
    assert.equal(
      redemptionFor(
        call,
        [
          redemption({ eventId: 'x', callerNumber: '+79160000001', calledAtMs: 60 * MIN, redeemedAtMs: 9 }),
          redemption({ eventId: 'y', callId: 'c1', promoCode: 'BYID', redeemedAtMs: 1 }),
        ],
        callerCalls,
      )?.redemption.promoCode,
      'BYID',
    );
  });
});

describe('repeat caller', () => {
  const call = { callId: 'c-now', callerNumber: '+79160000001', startedAtMs: 10 * 24 * 60 * MIN };
  const DAY = 24 * 60 * MIN;

  it("inherits the visitor of the caller's latest earlier matched call within the lookback, half as sure", () => {
    const source = repeatCallerSource(
      call,
      [
        earlier({ callId: 'a', startedAtMs: 1 * DAY }),
        earlier({ callId: 'b', startedAtMs: 3 * DAY, visitorId: 'v-b' }),
        earlier({ callId: 'later', startedAtMs: 11 * DAY }),
      ],
      30 * DAY,
    );
    assert.equal(source?.callId, 'b');
    const d = withRepeatCaller({ method: 'unmatched', reason: 'default_number' }, source);
    assert.equal(d.method, 'repeat_caller');
    assert.equal(d.method === 'repeat_caller' && d.confidence, 0.4, '0.8 × ½');
    const o = originOf(d, undefined);
    assert.equal(o.method, MatchMethod.MATCH_METHOD_REPEAT_CALLER);
    assert.equal(o.visitorId, 'v-b');
    assert.equal(o.sourceCallId, 'b');
    assert.equal(o.origin.utm.source, 'google');
  });

  it('needs a matched earlier inbound call from the same number within the lookback', () => {
    assert.equal(repeatCallerSource(call, [earlier({ startedAtMs: 0 })], 9 * DAY), undefined, 'older than the lookback');
    assert.equal(repeatCallerSource(call, [earlier({ matchMethod: 'unmatched', visitorId: '' })], 30 * DAY), undefined);
    assert.equal(repeatCallerSource(call, [earlier({ matchMethod: 'static', visitorId: '' })], 30 * DAY), undefined);
    assert.equal(repeatCallerSource(call, [earlier({ callerNumber: '+79169999999' })], 30 * DAY), undefined);
    assert.equal(repeatCallerSource({ ...call, callerNumber: '' }, [earlier({ callerNumber: '' })], 30 * DAY), undefined, 'withheld number');
    assert.equal(repeatCallerSource(call, [earlier({ direction: 'outbound' })], 30 * DAY), undefined);
  });

  it('applies only to calls unmatched for a reason a repeat caller can explain', () => {
    const source = earlier({});
    assert.equal(withRepeatCaller({ method: 'unmatched', reason: 'unknown_site' }, source).method, 'unmatched');
    assert.equal(withRepeatCaller({ method: 'unmatched', reason: 'outbound_call' }, source).method, 'unmatched');
    assert.equal(withRepeatCaller({ method: 'unmatched', reason: 'no_lease_for_number' }, source).method, 'repeat_caller');
    assert.equal(
      withRepeatCaller({ method: 'static', source: { utmSource: 'x', utmMedium: '', utmCampaign: '', channel: '', label: '' }, confidence: 1 }, source).method,
      'static',
    );
  });
});
