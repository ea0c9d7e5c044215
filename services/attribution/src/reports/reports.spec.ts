// Pure parts of the reports: path summaries (hand-counted), the device of a user agent,
// and the ad-cost import's checks and event mapping.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createEvent } from '@calltrack/contracts';
import { deviceOf } from '../consumers/visit-enrichment.js';
import { adCostImportSchema, adCostRows, conversionRevenueRow, costChannel } from './ad-costs.js';
import { summarisePaths } from './report-queries.js';
import { deadLetter, ok } from '../step-result.js';

describe('summarisePaths', () => {
  // Five conversions: two "organic > paid", one "paid", one "email > organic > email > paid" (email assists once), one "direct".
  const rows = [
    { path: ['organic_search', 'paid_search'], lagDays: 1, conversions: 2 },
    { path: ['paid_search'], lagDays: 0, conversions: 1 },
    { path: ['email', 'organic_search', 'email', 'paid_search'], lagDays: 12, conversions: 1 },
    { path: ['direct'], lagDays: 45, conversions: 1 },
  ];
  const r = summarisePaths(rows, 2);

  it('ranks the top paths and their shares', () => {
    assert.equal(r.conversions, 5);
    assert.deepEqual(r.topPaths, [
      { path: ['organic_search', 'paid_search'], conversions: 2, share: 0.4 },
      { path: ['direct'], conversions: 1, share: 0.2 },
    ]);
  });

  it('counts path lengths and time-lag buckets', () => {
    assert.deepEqual(r.pathLengths, [
      { touches: 1, conversions: 2, share: 0.4 },
      { touches: 2, conversions: 2, share: 0.4 },
      { touches: 4, conversions: 1, share: 0.2 },
    ]);
    assert.deepEqual(r.timeLag, [
      { days: '0', conversions: 1, share: 0.2 },
      { days: '1', conversions: 2, share: 0.4 },
      { days: '8-14', conversions: 1, share: 0.2 },
      { days: '31-90', conversions: 1, share: 0.2 },
    ]);
  });

  it('counts assisted conversions once per path, against last-click ones', () => {
    assert.deepEqual(r.assisted, [
      { channel: 'paid_search', lastClick: 4, assisted: 0, assistedToLastClick: 0 },
      { channel: 'organic_search', lastClick: 0, assisted: 3, assistedToLastClick: null },
      { channel: 'direct', lastClick: 1, assisted: 0, assistedToLastClick: 0 },
      { channel: 'email', lastClick: 0, assisted: 1, assistedToLastClick: null },
    ]);
  });

  it('is empty without conversions', () => {
    assert.deepEqual(summarisePaths([], 10), { conversions: 0, topPaths: [], pathLengths: [], timeLag: [], assisted: [] });
  });
});

describe('deviceOf', () => {
  it('tells desktop, mobile and tablet browsers and systems apart', () => {
    assert.deepEqual(deviceOf('Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36'), {
      device_type: 'desktop',
      browser: 'Chrome',
      os: 'Windows',
    });
    assert.deepEqual(
      deviceOf('Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1'),
      { device_type: 'mobile', browser: 'Mobile Safari', os: 'iOS' },
    );
    assert.equal(
      deviceOf('Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1').device_type,
      'tablet',
    );
    assert.deepEqual(deviceOf(''), { device_type: '', browser: '', os: '' });
  });
});

describe('ad-cost import', () => {
  const row = { day: '2026-10-05', source: 'google', medium: 'cpc', campaign: 'sofas', keyword: 'buy sofa', cost: 10.5 };

  it('takes the defaults and refuses what cannot be a cost row, naming it', () => {
    const ok = adCostImportSchema.parse({ currency: 'RUB', rows: [row] });
    assert.deepEqual(ok.rows[0], { ...row, clicks: 0, impressions: 0 });
    const issues = (body: unknown) => adCostImportSchema.safeParse(body).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`) ?? [];
    assert.deepEqual(issues({ currency: 'RUB', rows: [{ ...row, day: '2026-13-01' }] }), ['rows.0.day: day must be a calendar date YYYY-MM-DD (2000-2199)']);
    assert.deepEqual(issues({ rows: [row] }), ['rows.0.currency: give the currency of the row or of the import']);
    assert.deepEqual(issues({ currency: 'RUB', rows: [{ ...row, source: ' ' }] }), ['rows.0.source: source must not be empty (the utm_source of the ads)']);
    assert.deepEqual(issues({ currency: 'RUB', rows: [{ ...row, clicks: 1.5 }] }), ['rows.0.clicks: clicks must be a whole number']);
  });

  it('maps an event to rows versioned by the import time, with the channel of source and medium', () => {
    const event = createEvent(
      'AdCostsImported',
      { importId: 'i-1', importedBy: 'anna', rows: [{ ...row, currency: 'RUB', clicks: 3, impressions: 40 }] },
      { siteId: 'shop', producer: 'test', occurredAtMs: 1_790_000_000_000 },
    );
    assert.deepEqual(
      adCostRows(event),
      ok([
        {
          site_id: 'shop',
          day: '2026-10-05',
          channel: 'paid_search',
          source: 'google',
          medium: 'cpc',
          campaign: 'sofas',
          keyword: 'buy sofa',
          cost: 10.5,
          clicks: 3,
          impressions: 40,
          currency: 'RUB',
          import_id: 'i-1',
          imported_by: 'anna',
          version: 1_790_000_000_000,
        },
      ]),
    );
    assert.equal(costChannel('facebook', 'cpc'), 'paid_social');
  });

  it('dead-letters an import or a revenue the projection cannot store, naming the problem', () => {
    const meta = { siteId: 'shop', producer: 'test' };
    const costs = (p: object) => adCostRows(createEvent('AdCostsImported', { importId: 'i-2', rows: [{ ...row, currency: 'RUB' }], ...p }, meta));
    assert.deepEqual(costs({ importId: '' }), deadLetter('AdCostsImported has no importId'));
    assert.deepEqual(
      costs({
        rows: [
          { ...row, currency: 'RUB' },
          { ...row, day: 'yesterday', currency: 'RUB' },
        ],
      }),
      deadLetter('row 1: day yesterday is not a calendar date YYYY-MM-DD'),
    );
    assert.deepEqual(costs({ rows: [{ ...row, currency: 'rub' }] }), deadLetter('row 0: currency rub is not an ISO 4217 code'));
    const revenue = (p: object) => conversionRevenueRow(createEvent('ConversionRevenueRecorded', { callId: 'c1', amount: 100, currency: 'RUB', ...p }, meta));
    assert.equal(revenue({}).ok, true);
    assert.deepEqual(revenue({ callId: '' }), deadLetter('ConversionRevenueRecorded has no callId'));
    assert.deepEqual(revenue({ amount: -1 }), deadLetter('amount -1 is not a non-negative number'));
    assert.deepEqual(revenue({ currency: 'roubles' }), deadLetter('currency roubles is not an ISO 4217 code'));
  });
});
