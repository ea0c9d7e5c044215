import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chooseTrackingMethod, type VisitFacts } from './tracking-rules.js';

const visit = (over: Partial<VisitFacts> = {}): VisitFacts => ({
  channel: 'organic_search',
  utm: {},
  referrer: 'https://www.google.com/',
  landingPage: 'https://shop.example/sofas/corner?x=1',
  clickIds: {},
  ...over,
});

// A site mixing methods: static numbers offline, dynamic for paid search, promo codes for SEO.
const site = {
  poolNumbers: ['+74951000001'],
  staticNumbers: [
    { number: '+74957770000', status: 'active' },
    { number: '+74957770001', status: 'retired' },
  ],
  rules: [
    { id: 'billboard', utmSource: 'billboard', method: 'static', staticNumber: '+74957770000' },
    { id: 'old-flyer', utmSource: 'flyer', method: 'static', staticNumber: '+74957770001' },
    { id: 'ads', channels: ['paid_search', 'paid_social'], clickId: 'present', method: 'dynamic' },
    { id: 'seo', channels: ['organic_search'], method: 'promo_code' },
    { id: 'partners', referrerDomain: 'partner.example', method: 'default_number' },
    { id: 'b2b', landingPathPrefix: '/b2b/', utmMedium: 'Email', utmCampaign: 'autumn', method: 'default_number' },
    { id: 'no-click', clickId: 'absent', channels: ['paid_search'], method: 'default_number' },
  ],
};

const cases: Array<[string, Partial<VisitFacts>, string, string]> = [
  ['utm_source picks a static number, case-insensitive', { channel: 'other', utm: { source: 'BillBoard' } }, 'static', 'billboard'],
  ['a static rule on a retired number falls through', { channel: 'other', utm: { source: 'flyer' }, referrer: '' }, 'dynamic', ''],
  ['paid search with a click id', { channel: 'paid_search', clickIds: { gclid: 'abc' } }, 'dynamic', 'ads'],
  ['paid search without one', { channel: 'paid_search' }, 'default_number', 'no-click'],
  ['organic search gets a promo code', {}, 'promo_code', 'seo'],
  ['referrer subdomain matches its domain', { channel: 'referral', referrer: 'https://blog.partner.example/post' }, 'default_number', 'partners'],
  ['a look-alike domain does not', { channel: 'referral', referrer: 'https://notpartner.example/' }, 'dynamic', ''],
  [
    'every condition of a rule must hold',
    { channel: 'email', utm: { medium: 'email', campaign: 'autumn' }, landingPage: 'https://shop.example/b2b/offer' },
    'default_number',
    'b2b',
  ],
  [
    'one failing condition skips the rule',
    { channel: 'email', utm: { medium: 'email', campaign: 'spring' }, landingPage: 'https://shop.example/b2b/offer' },
    'dynamic',
    '',
  ],
];

describe('tracking rules', () => {
  for (const [name, facts, method, ruleId] of cases) {
    it(name, () => {
      const choice = chooseTrackingMethod(site, visit(facts));
      assert.equal(choice.method, method);
      assert.equal(choice.ruleId, ruleId);
    });
  }

  it('returns the static number of a static rule', () => {
    assert.equal(chooseTrackingMethod(site, visit({ utm: { source: 'billboard' } })).staticNumber, '+74957770000');
  });

  it('without rules: dynamic with a pool, the default number without', () => {
    assert.deepEqual(chooseTrackingMethod({ poolNumbers: ['+74951000001'] }, visit()), { method: 'dynamic', ruleId: '' });
    assert.deepEqual(chooseTrackingMethod({ poolNumbers: [] }, visit()), { method: 'default_number', ruleId: '' });
  });
});
