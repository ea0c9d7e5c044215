import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { calltrack } from '@calltrack/contracts';
import { decideMatch, matchLease, mayImproveWithState, originOf, type LeaseCandidate, type SiteNumbers, type VisitSource } from './call-matching.js';

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
  staticNumbers: [{ number: '+74957770000', utmSource: 'billboard', utmMedium: 'offline', utmCampaign: 'ring-road' }],
};

const visit: VisitSource = {
  sessionId: 's-a',
  visitorId: 'v-a',
  channel: 'paid_search',
  utm: { source: 'google', medium: 'cpc', campaign: 'brand', content: '', term: 'flowers' },
  referrer: 'https://www.google.com/',
  landingPage: 'https://shop.example/?gclid=g1',
  clickIds: { gclid: 'g1' },
  analyticsIds: { gaClientId: '1.2', ymUid: '', fbp: '', fbc: '' },
};

describe('matchLease', () => {
  it('matches a lease still held when the call started', () => {
    assert.deepEqual(matchLease([lease('a', 0, 15)], 5 * MIN, GRACE), { lease: lease('a', 0, 15), reason: 'lease_active' });
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
    // Before the second grant, the number still belonged to the first visitor (in its grace).
    assert.deepEqual(matchLease([old, next], 5 * MIN + 30_000, GRACE), { lease: old, reason: 'lease_released_within_grace' });
  });

  it('decides a tie in grant time by lease id, so a replay decides the same way', () => {
    assert.equal(matchLease([lease('b', 1, 15), lease('c', 1, 15)], 2 * MIN, GRACE)?.lease.leaseId, 'c');
    assert.equal(matchLease([lease('c', 1, 15), lease('b', 1, 15)], 2 * MIN, GRACE)?.lease.leaseId, 'c');
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
    assert.deepEqual(decide('+74957770000', []), { method: 'static', source: { utmSource: 'billboard', utmMedium: 'offline', utmCampaign: 'ring-road' } });
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
    const dynamic = (behind: boolean) => ({ method: 'dynamic' as const, lease: lease('a', 0, 15), reason: 'lease_active' as const, stateMayBeBehind: behind });
    assert.equal(mayImproveWithState(dynamic(false), visit), false);
    assert.equal(mayImproveWithState(dynamic(false), undefined), true, 'the visit is not stored yet');
    assert.equal(mayImproveWithState(dynamic(true), visit), true);
    assert.equal(mayImproveWithState({ method: 'unmatched', reason: 'no_lease_for_number' }, undefined), true);
    assert.equal(mayImproveWithState({ method: 'static', source: { utmSource: 'x', utmMedium: '', utmCampaign: '' } }, undefined), false);
  });
});

describe('originOf', () => {
  it('copies the visit of a dynamic match', () => {
    const o = originOf({ method: 'dynamic', lease: lease('a', 0, 15), reason: 'lease_released_within_grace', stateMayBeBehind: false }, visit);
    assert.equal(o.method, MatchMethod.MATCH_METHOD_DYNAMIC);
    assert.equal(o.matchReason, 'lease_released_within_grace');
    assert.equal(o.leaseId, 'a');
    assert.equal(o.sessionId, 's-a');
    assert.equal(o.channel, 'paid_search');
    assert.deepEqual(o.utm, visit.utm);
    assert.deepEqual(o.clickIds, { gclid: 'g1' });
    assert.equal(o.analyticsIds?.gaClientId, '1.2');
  });

  it('keeps the lease of a match whose visit is unknown and says so', () => {
    const o = originOf({ method: 'dynamic', lease: lease('a', 0, 15), reason: 'lease_active', stateMayBeBehind: false }, undefined);
    assert.equal(o.matchReason, 'lease_active_visit_missing');
    assert.equal(o.sessionId, 's-a');
    assert.equal(o.utm, undefined);
  });

  it('gives a static number its source and channel, and an unmatched call only its reason', () => {
    const s = originOf({ method: 'static', source: { utmSource: 'google', utmMedium: 'cpc', utmCampaign: 'print' } }, undefined);
    assert.equal(s.method, MatchMethod.MATCH_METHOD_STATIC);
    assert.equal(s.matchReason, 'static_number');
    assert.equal(s.channel, 'paid_search');
    assert.deepEqual(s.utm, { source: 'google', medium: 'cpc', campaign: 'print' });
    assert.equal(originOf({ method: 'static', source: { utmSource: '', utmMedium: '', utmCampaign: '' } }, undefined).channel, 'other');
    assert.deepEqual(originOf({ method: 'unmatched', reason: 'number_not_tracked' }, undefined), { method: MatchMethod.MATCH_METHOD_UNMATCHED, matchReason: 'number_not_tracked' });
  });
});
