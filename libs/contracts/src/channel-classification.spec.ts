import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classifyChannel, type Channel, type ChannelInput } from './channel-classification.js';

const LANDING = 'https://shop.example/sofas';

// The table of docs/channels.md, case by case.
const cases: Array<[string, ChannelInput, Channel]> = [
  ['Google Ads with tags', { utmSource: 'google', utmMedium: 'cpc' }, 'paid_search'],
  ['Yandex Direct with tags', { utmSource: 'yandex', utmMedium: 'cpc', clickIds: { yclid: '1' } }, 'paid_search'],
  ['paid medium variants', { utmSource: 'bing', utmMedium: 'ppc' }, 'paid_search'],
  ['Google Ads auto-tagging only', { clickIds: { gclid: 'Cj0' }, referrer: 'https://www.google.com/' }, 'paid_search'],
  ['Microsoft Ads auto-tagging only', { clickIds: { msclkid: 'x' } }, 'paid_search'],
  ['Yandex click id only', { clickIds: { yclid: '123' }, referrer: 'https://yandex.ru/' }, 'paid_search'],
  ['VK Ads with tags', { utmSource: 'vk', utmMedium: 'cpc' }, 'paid_social'],
  ['Meta ads with tags', { utmSource: 'facebook', utmMedium: 'paid_social', clickIds: { fbclid: 'f' } }, 'paid_social'],
  ['TikTok click id only', { clickIds: { ttclid: 't' } }, 'paid_social'],
  ['banner', { utmSource: 'rbc', utmMedium: 'banner' }, 'display'],
  ['CPM', { utmSource: 'mytarget', utmMedium: 'cpm' }, 'display'],
  ['Campaign Manager click id', { clickIds: { dclid: 'd' } }, 'display'],
  ['newsletter', { utmSource: 'sendpulse', utmMedium: 'email' }, 'email'],
  ['e-mail spelling', { utmSource: 'unisender', utmMedium: 'e-mail' }, 'email'],
  ['webmail referrer', { referrer: 'https://e.mail.ru/inbox', landingPage: LANDING }, 'email'],
  ['Gmail referrer', { referrer: 'https://mail.google.com/mail/u/0/', landingPage: LANDING }, 'email'],
  ['Google organic', { referrer: 'https://www.google.com/', landingPage: LANDING }, 'organic_search'],
  ['Google regional domain', { referrer: 'https://www.google.co.uk/', landingPage: LANDING }, 'organic_search'],
  ['Yandex organic', { referrer: 'https://yandex.ru/search/?text=sofa', landingPage: LANDING }, 'organic_search'],
  ['ya.ru', { referrer: 'https://ya.ru/', landingPage: LANDING }, 'organic_search'],
  ['Mail.ru search', { referrer: 'https://go.mail.ru/search?q=sofa', landingPage: LANDING }, 'organic_search'],
  ['DuckDuckGo', { referrer: 'https://duckduckgo.com/', landingPage: LANDING }, 'organic_search'],
  ['Bing', { referrer: 'https://www.bing.com/search?q=sofa', landingPage: LANDING }, 'organic_search'],
  ['tagged organic', { utmSource: 'google', utmMedium: 'organic' }, 'organic_search'],
  ['VK post', { referrer: 'https://vk.com/wall-1_2', landingPage: LANDING }, 'social'],
  ['OK', { referrer: 'https://ok.ru/group/1', landingPage: LANDING }, 'social'],
  ['Telegram', { referrer: 'https://t.me/channel/5', landingPage: LANDING }, 'social'],
  ['Dzen', { referrer: 'https://dzen.ru/a/xyz', landingPage: LANDING }, 'social'],
  ['organic Facebook share (fbclid, no tags)', { clickIds: { fbclid: 'f' }, referrer: 'https://l.facebook.com/', landingPage: LANDING }, 'social'],
  ['social medium', { utmSource: 'telegram', utmMedium: 'social' }, 'social'],
  ['social source only', { utmSource: 'instagram' }, 'social'],
  ['other site', { referrer: 'https://furniture-reviews.example/top-10', landingPage: LANDING }, 'referral'],
  ['tagged referral', { utmSource: 'partner', utmMedium: 'referral' }, 'referral'],
  ['typed in or bookmark', { landingPage: LANDING }, 'direct'],
  ['internal referrer', { referrer: 'https://shop.example/', landingPage: LANDING }, 'direct'],
  ['unknown medium', { utmSource: 'partner', utmMedium: 'qr' }, 'other'],
  ['paid, on a site that is neither search nor social', { utmSource: 'avito', utmMedium: 'cpc' }, 'other'],
  ['unknown source without medium', { utmSource: 'flyer' }, 'other'],
  ['case and spaces', { utmSource: ' Google ', utmMedium: 'CPC' }, 'paid_search'],
];

describe('classifyChannel', () => {
  for (const [name, input, expected] of cases) {
    it(`${name} → ${expected}`, () => assert.equal(classifyChannel(input), expected));
  }

  it('does not mistake a host that merely contains a search engine name', () => {
    assert.equal(classifyChannel({ referrer: 'https://googleblog.example/', landingPage: LANDING }), 'referral');
    assert.equal(classifyChannel({ referrer: 'https://notyandex.ru/', landingPage: LANDING }), 'referral');
  });
});
