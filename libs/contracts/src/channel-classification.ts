// Which marketing channel a visit came through, from its UTM tags, ad click ids and
// referrer: the rules of docs/channels.md, in that order. Modelled on Google
// Analytics 4's default channel group, with the search engines and social networks
// of the markets we serve (Google, Yandex, Bing, Mail.ru, DuckDuckGo, VK, OK...).

export const CHANNELS = ['paid_search', 'organic_search', 'paid_social', 'social', 'referral', 'email', 'display', 'direct', 'other'] as const;
export type Channel = (typeof CHANNELS)[number];

export interface ChannelInput {
  utmSource?: string | undefined;
  utmMedium?: string | undefined;
  clickIds?: Readonly<Record<string, string>> | undefined;
  referrer?: string | undefined;
  landingPage?: string | undefined;
}

// Hosts are matched on whole labels: "google" matches google.com, google.co.uk, www.google.ru.
const SEARCH_ENGINES = [
  'google',
  'yandex',
  'ya',
  'bing',
  'go.mail',
  'duckduckgo',
  'yahoo',
  'baidu',
  'ecosia',
  'search.brave',
  'nova.rambler',
  'startpage',
  'qwant',
  'seznam',
  'naver',
];
const SOCIAL_NETWORKS = [
  'vk',
  'vkontakte',
  'ok',
  'odnoklassniki',
  'facebook',
  'fb',
  'instagram',
  't',
  'telegram',
  'twitter',
  'x',
  'linkedin',
  'youtube',
  'tiktok',
  'pinterest',
  'reddit',
  'dzen',
  'threads',
  'whatsapp',
  'my.mail',
];
const WEBMAIL = ['mail.google', 'e.mail', 'mail.yandex', 'outlook.live', 'mail.yahoo', 'mail.rambler'];
// Source names as people type them into utm_source.
const SEARCH_SOURCES = new Set([
  'google',
  'yandex',
  'bing',
  'mail.ru',
  'mailru',
  'duckduckgo',
  'yahoo',
  'baidu',
  'ecosia',
  'brave',
  'rambler',
  'yandex_direct',
  'yandexdirect',
  'direct.yandex',
  'google_ads',
  'googleads',
  'adwords',
  'microsoft',
  'msn',
]);
const SOCIAL_SOURCES = new Set([
  'vk',
  'vkontakte',
  'ok',
  'odnoklassniki',
  'facebook',
  'fb',
  'instagram',
  'ig',
  'meta',
  'telegram',
  'tg',
  'twitter',
  'x',
  'linkedin',
  'youtube',
  'tiktok',
  'pinterest',
  'reddit',
  'dzen',
  'threads',
  'whatsapp',
  'mytarget',
  'vk_ads',
  'vkads',
]);

const SEARCH_CLICK_IDS = ['gclid', 'gbraid', 'wbraid', 'yclid', 'msclkid'];
const SOCIAL_CLICK_IDS = ['ttclid', 'twclid', 'vkclid', 'li_fat_id'];

const PAID_MEDIUM = /^(.*cp.*|ppc|retargeting|paid.*)$/;
const DISPLAY_MEDIUM = /^(display|banner|expandable|interstitial|cpm|cpv|video|programmatic)$/;
const EMAIL_MEDIUM = /^(e[-_ ]?mail|newsletter|mailing|rassylka)$/;
const SOCIAL_MEDIUM = /^(social|social[-_ ]?network|social[-_ ]?media|sm|smm)$/;

function hostOf(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    return new URL(url).hostname.toLowerCase().replace(/^www\./, '');
  } catch {
    return undefined;
  }
}

/** True when one of the names appears as whole labels of the host ("google" in "www.google.co.uk"). */
function hostMatches(host: string, names: readonly string[]): boolean {
  const h = `.${host}.`;
  return names.some((n) => h.includes(`.${n}.`));
}

export function classifyChannel(input: ChannelInput): Channel {
  const source = (input.utmSource ?? '').trim().toLowerCase();
  const medium = (input.utmMedium ?? '').trim().toLowerCase();
  const clickIds = input.clickIds ?? {};
  const has = (ids: readonly string[]) => ids.some((id) => Boolean(clickIds[id]));
  const searchSource = SEARCH_SOURCES.has(source);
  const socialSource = SOCIAL_SOURCES.has(source);

  // 1. Tagged traffic: the medium says how, the source says where.
  if (medium) {
    if (DISPLAY_MEDIUM.test(medium)) return 'display';
    if (PAID_MEDIUM.test(medium)) {
      if (socialSource || has(SOCIAL_CLICK_IDS) || clickIds['fbclid']) return 'paid_social';
      if (searchSource || has(SEARCH_CLICK_IDS)) return 'paid_search';
      // Paid, but neither a search engine nor a social network we know (GA4's "Paid Other").
      return 'other';
    }
    if (EMAIL_MEDIUM.test(medium)) return 'email';
    if (SOCIAL_MEDIUM.test(medium)) return 'social';
    if (medium === 'organic') return 'organic_search';
    if (medium === 'referral') return 'referral';
    if (medium === '(none)' || medium === 'none') return 'direct';
  }
  // 2. Ad click ids without (recognised) tags: the ad system added them to the landing URL.
  if (has(SEARCH_CLICK_IDS)) return 'paid_search';
  if (has(SOCIAL_CLICK_IDS)) return 'paid_social';
  if (clickIds['dclid']) return 'display';
  // 3. A source without a medium.
  if (source) {
    if (searchSource) return 'organic_search';
    if (socialSource) return 'social';
    if (source === 'email' || source === 'newsletter') return 'email';
    return 'other';
  }
  if (medium) return 'other';
  // 4. Untagged: where the visitor came from. fbclid is added to organic shares too, so it
  // only says "social" here.
  const referrer = hostOf(input.referrer);
  if (!referrer) return clickIds['fbclid'] ? 'social' : 'direct';
  if (referrer === hostOf(input.landingPage)) return 'direct';
  if (hostMatches(referrer, WEBMAIL)) return 'email';
  if (hostMatches(referrer, SEARCH_ENGINES)) return 'organic_search';
  if (hostMatches(referrer, SOCIAL_NETWORKS) || clickIds['fbclid']) return 'social';
  return 'referral';
}
