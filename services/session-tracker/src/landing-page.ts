// What a landing URL says about the visit's source: UTM tags and ad click ids.

export const UTM_KEYS = ['source', 'medium', 'campaign', 'content', 'term'] as const;
export type Utm = Record<(typeof UTM_KEYS)[number], string>;

/** Click identifiers of the ad systems the platform exports to (Google, Yandex, Meta, Microsoft, TikTok, X, VK, LinkedIn). */
export const CLICK_ID_PARAMS = ['gclid', 'gbraid', 'wbraid', 'dclid', 'yclid', 'fbclid', 'msclkid', 'ttclid', 'twclid', 'vkclid', 'li_fat_id'] as const;

const MAX_VALUE = 500;

export function parseLandingPage(landingPage: string): { utm: Utm; clickIds: Record<string, string> } {
  const utm: Utm = { source: '', medium: '', campaign: '', content: '', term: '' };
  const clickIds: Record<string, string> = {};
  let url: URL;
  try {
    url = new URL(landingPage);
  } catch {
    return { utm, clickIds };
  }
  for (const key of UTM_KEYS) utm[key] = (url.searchParams.get(`utm_${key}`) ?? '').slice(0, MAX_VALUE);
  for (const key of CLICK_ID_PARAMS) {
    const v = url.searchParams.get(key);
    if (v) clickIds[key] = v.slice(0, MAX_VALUE);
  }
  return { utm, clickIds };
}
