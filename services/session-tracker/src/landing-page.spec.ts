import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseLandingPage } from './landing-page.js';

describe('parseLandingPage', () => {
  it('reads UTM tags and ad click ids from the landing URL', () => {
    const r = parseLandingPage(
      'https://shop.example/?utm_source=yandex&utm_medium=cpc&utm_campaign=spring&utm_term=%D0%BA%D1%83%D0%BF%D0%B8%D1%82%D1%8C&yclid=123&gclid=abc&other=1',
    );
    assert.deepEqual(r.utm, { source: 'yandex', medium: 'cpc', campaign: 'spring', content: '', term: 'купить' });
    assert.deepEqual(r.clickIds, { gclid: 'abc', yclid: '123' });
  });

  it('returns empty tags for a URL without them or an unparsable one', () => {
    assert.deepEqual(parseLandingPage('https://shop.example/').clickIds, {});
    assert.equal(parseLandingPage('not a url').utm.source, '');
  });
});
