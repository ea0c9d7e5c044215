import type { calltrack } from '@calltrack/proto';

export const TRACKING_METHODS = ['dynamic', 'static', 'promo_code', 'default_number'] as const;
export type TrackingMethod = (typeof TRACKING_METHODS)[number];
export const CLICK_ID_CONDITIONS = ['', 'present', 'absent'] as const;

/** What the rules look at: the visit as session-tracker sees it when it starts. */
export interface VisitFacts {
  channel: string;
  utm: { source?: string | null; medium?: string | null; campaign?: string | null };
  referrer: string;
  landingPage: string;
  clickIds: Readonly<Record<string, string>>;
}

export interface TrackingChoice {
  method: TrackingMethod;
  /** The rule that decided; empty when no rule matched. */
  ruleId: string;
  /** The number to show, for method "static". */
  staticNumber?: string;
}

type Site = Pick<calltrack.events.v1.ISiteConfigured, 'rules' | 'poolNumbers' | 'staticNumbers'>;
type Rule = calltrack.events.v1.ITrackingRule;

const same = (expected: string | null | undefined, actual: string | null | undefined): boolean =>
  !expected || expected.toLowerCase() === (actual ?? '').toLowerCase();

function host(url: string): string {
  try {
    return new URL(url).hostname.toLowerCase();
  } catch {
    return '';
  }
}

function path(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return '';
  }
}

/** True when every condition the rule sets holds for the visit. */
export function ruleMatches(rule: Rule, visit: VisitFacts): boolean {
  if (rule.channels && rule.channels.length > 0 && !rule.channels.includes(visit.channel)) return false;
  if (!same(rule.utmSource, visit.utm.source) || !same(rule.utmMedium, visit.utm.medium) || !same(rule.utmCampaign, visit.utm.campaign)) return false;
  if (rule.referrerDomain) {
    const domain = rule.referrerDomain.toLowerCase();
    const h = host(visit.referrer);
    if (h !== domain && !h.endsWith(`.${domain}`)) return false;
  }
  if (rule.landingPathPrefix && !path(visit.landingPage).startsWith(rule.landingPathPrefix)) return false;
  const hasClickId = Object.values(visit.clickIds).some((v) => v !== '');
  if (rule.clickId === 'present' && !hasClickId) return false;
  if (rule.clickId === 'absent' && hasClickId) return false;
  return true;
}

/**
 * How a visit is tracked: the first rule whose conditions all hold decides. A
 * "static" rule whose number is no longer an active static number of the site
 * falls through to the next rule. No rule: a dynamic number when the site has a
 * pool, else its default number.
 */
export function chooseTrackingMethod(site: Site, visit: VisitFacts): TrackingChoice {
  for (const rule of site.rules ?? []) {
    if (!ruleMatches(rule, visit)) continue;
    const method = (TRACKING_METHODS as readonly string[]).includes(rule.method ?? '') ? (rule.method as TrackingMethod) : undefined;
    if (!method) continue;
    if (method === 'static') {
      const bound = (site.staticNumbers ?? []).find((s) => s.number === rule.staticNumber && s.status !== 'retired');
      if (!bound) continue;
      return { method, ruleId: rule.id ?? '', staticNumber: bound.number ?? '' };
    }
    return { method, ruleId: rule.id ?? '' };
  }
  return { method: (site.poolNumbers ?? []).length > 0 ? 'dynamic' : 'default_number', ruleId: '' };
}
