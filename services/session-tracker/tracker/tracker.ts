// The tracker tag: one asynchronous script that session-tracker serves per site
// (GET /v1/sites/{site}/tracker.js) with the site's settings as its argument.
// No dependencies, no eval, no inline styles: it runs under a strict CSP. Every
// failure is silent and leaves the site's own number in place.

export interface TrackerSettings {
  /** Site id. */
  s: string;
  /** The site's own numbers as digit strings (E.164 without "+"), default first. */
  n: string[];
  /** Country calling code of the site ("7", "1", "44"...): national formats drop it. */
  cc: string;
  /** National trunk prefix written before national numbers ("8" in Russia, "0" in the UK, "1" or "" in the US). */
  tp: string;
  /** Heartbeat interval, seconds. */
  hb: number;
  /** Lease tail, seconds: how long a stored lease stays usable after the last heartbeat. */
  ttl: number;
}

interface StoredLease {
  /** Number shown (digits, E.164 without "+"). */
  n: string;
  l?: string;
  s: string;
  /** Expires at (ms). */
  e: number;
  p?: string;
}

interface StartAnswer {
  sessionId: string;
  visitorId: string;
  number: string;
  leaseId?: string;
  expiresAt?: string;
  promoCode?: string;
  method: string;
}

const INLINE = /^(A|ABBR|B|BDI|BDO|BIG|CITE|CODE|DATA|DFN|EM|FONT|I|KBD|MARK|NOBR|Q|S|SAMP|SMALL|SPAN|STRONG|SUB|SUP|TIME|U|VAR|WBR)$/;
const SKIP = /^(SCRIPT|STYLE|NOSCRIPT|TEXTAREA|TEMPLATE|svg)$/;
const PHONE_RUN = /\+?\d[\d\s\u00a0\-().]{5,24}\d/g;
const ATTRIBUTES = ['href', 'title', 'aria-label', 'content', 'alt', 'placeholder', 'data-phone', 'data-tel', 'value'];
const TIMEOUT_MS = 2000;
const VISITOR_COOKIE = '_ctvid';

export function track(settings: TrackerSettings, api: string): void {
  const w = window;
  const d = document;
  const key = `_ct_${settings.s}`;
  const now = () => Date.now();
  const store = {
    get(k: string): string | null {
      try {
        return w.localStorage.getItem(k);
      } catch {
        return null;
      }
    },
    set(k: string, v: string): void {
      try {
        w.localStorage.setItem(k, v);
      } catch {
        /* storage disabled: the cookie still identifies the visitor */
      }
    },
  };
  const cookie = (name: string): string => {
    const m = d.cookie.match(new RegExp(`(?:^|; )${name}=([^;]*)`));
    return m ? decodeURIComponent(m[1]!) : '';
  };

  // The visitor: first-party cookie, mirrored in localStorage (either may be cleared alone).
  let visitorId = cookie(VISITOR_COOKIE) || store.get(VISITOR_COOKIE) || '';
  const rememberVisitor = (id: string) => {
    visitorId = id;
    d.cookie = `${VISITOR_COOKIE}=${id}; max-age=34560000; path=/; SameSite=Lax`;
    store.set(VISITOR_COOKIE, id);
  };

  // What numbers on the page look like: national significant digits of each own number.
  const national = (e164: string) => (e164.startsWith(settings.cc) ? e164.slice(settings.cc.length) : e164);
  let shown: string | undefined;
  /** Own numbers (and a number shown earlier) that the page may show: replaced by `shown`. */
  const replaceable = new Set(settings.n.map(national));

  /** Digits of a matched run, rewritten to the shown number in the same form (with or without country code or trunk prefix). */
  const rewrite = (digits: string): string | undefined => {
    if (!shown) return undefined;
    const target = national(shown);
    for (const own of replaceable) {
      if (own === target) continue;
      if (digits === own) return target;
      if (digits === settings.cc + own) return settings.cc + target;
      if (settings.tp && digits === settings.tp + own) return settings.tp + target;
    }
    return undefined;
  };

  /** Replaces the digits of `text` from `start` with `digits`, one for one, keeping every other character. */
  const swapDigits = (chars: string[], positions: number[], digits: string) => positions.forEach((p, i) => (chars[p] = digits[i]!));

  const blockOf = (node: Node): Node => {
    let el = node.parentNode;
    while (el && el.nodeType === 1 && INLINE.test((el as Element).tagName)) el = el.parentNode;
    return el ?? node;
  };

  /** Text: runs of text nodes under one block (a number may be split across inline tags). */
  const replaceText = (root: Node) => {
    const walker = d.createTreeWalker(root, NodeFilter.SHOW_TEXT, {
      acceptNode: (n) => {
        for (let p = n.parentElement; p; p = p.parentElement) if (SKIP.test(p.tagName)) return NodeFilter.FILTER_REJECT;
        return NodeFilter.FILTER_ACCEPT;
      },
    });
    const runs: Text[][] = [];
    let block: Node | undefined;
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const b = blockOf(n);
      if (b !== block || runs.length === 0) runs.push([]);
      block = b;
      runs[runs.length - 1]!.push(n as Text);
    }
    for (const run of runs) {
      const texts = run.map((t) => t.data);
      const joined = texts.join('');
      if (!/\d{2}/.test(joined.replace(/\D+/g, (s) => (s.length < 4 ? '' : ' ')))) continue;
      const chars = texts.map((t) => t.split(''));
      // Where each character of the joined text lives: [node index, offset].
      const at: Array<[number, number]> = [];
      texts.forEach((t, i) => {
        for (let o = 0; o < t.length; o += 1) at.push([i, o]);
      });
      let changed = false;
      for (const m of joined.matchAll(PHONE_RUN)) {
        const positions: number[] = [];
        let digits = '';
        for (let k = 0; k < m[0].length; k += 1) {
          if (m[0][k]! >= '0' && m[0][k]! <= '9') {
            positions.push(m.index! + k);
            digits += m[0][k];
          }
        }
        const next = rewrite(digits);
        if (!next || next.length !== digits.length) continue;
        positions.forEach((p, i) => {
          const [node, offset] = at[p]!;
          chars[node]![offset] = next[i]!;
        });
        changed = true;
      }
      if (changed) run.forEach((t, i) => (t.data !== chars[i]!.join('') ? (t.data = chars[i]!.join('')) : undefined));
    }
  };

  /** Attributes: tel: links, titles, data attributes, meta content. */
  const replaceAttributes = (root: Element | Document) => {
    const els = root instanceof Element ? [root, ...root.querySelectorAll('*')] : [...root.querySelectorAll('*')];
    for (const el of els) {
      for (const name of ATTRIBUTES) {
        const value = el.getAttribute(name);
        if (!value || !/\d/.test(value)) continue;
        const chars = value.split('');
        let changed = false;
        for (const m of value.matchAll(PHONE_RUN)) {
          const positions: number[] = [];
          let digits = '';
          for (let k = 0; k < m[0].length; k += 1) {
            if (/\d/.test(m[0][k]!)) {
              positions.push(m.index! + k);
              digits += m[0][k];
            }
          }
          const next = rewrite(digits);
          if (next && next.length === digits.length) {
            swapDigits(chars, positions, next);
            changed = true;
          }
        }
        if (changed) el.setAttribute(name, chars.join(''));
      }
    }
  };

  const promo = (code: string | undefined) => {
    if (!code) return;
    for (const el of d.querySelectorAll('[data-calltrack-promo]')) if (el.textContent !== code) el.textContent = code;
  };

  let lease: StoredLease | undefined;
  const apply = (root: Element | Document = d) => {
    if (!shown) return;
    if (root === d) {
      if (d.body) replaceText(d.body);
      replaceAttributes(d);
    } else {
      replaceText(root);
      replaceAttributes(root as Element);
    }
    promo(lease?.p);
  };
  const show = (digits: string) => {
    if (shown && shown !== digits) replaceable.add(national(shown));
    shown = digits;
    replaceable.delete(national(digits));
    apply();
  };

  const post = (path: string, body: object, timeoutMs = TIMEOUT_MS): Promise<Response> => {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    // text/plain keeps the request "simple": no CORS preflight round trip.
    return fetch(api + path, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'text/plain' }, signal: controller.signal, keepalive: true, credentials: 'omit' }).finally(() => clearTimeout(timer));
  };

  const save = (l: StoredLease) => {
    lease = l;
    store.set(key, JSON.stringify(l));
  };
  const stored = (): StoredLease | undefined => {
    try {
      const l = JSON.parse(store.get(key) ?? 'null') as StoredLease | null;
      return l && l.e > now() + 5000 ? l : undefined;
    } catch {
      return undefined;
    }
  };

  const analyticsIds = () => {
    const ga = cookie('_ga').split('.');
    const fbclid = new URLSearchParams(location.search).get('fbclid');
    const fbc = cookie('_fbc') || (fbclid ? `fb.1.${now()}.${fbclid}` : '');
    const ids: Record<string, string> = { gaClientId: ga.length >= 4 ? `${ga[2]}.${ga[3]}` : '', ymUid: cookie('_ym_uid'), fbp: cookie('_fbp'), fbc };
    for (const k of Object.keys(ids)) if (!ids[k]) delete ids[k];
    return ids;
  };

  const start = async () => {
    const body: Record<string, unknown> = { siteId: settings.s, landingPage: location.href, referrer: d.referrer, analyticsIds: analyticsIds() };
    if (/^[A-Za-z0-9_.-]{8,64}$/.test(visitorId)) body['visitorId'] = visitorId;
    const res = await post('/v1/sessions', body);
    if (!res.ok) return;
    const a = (await res.json()) as StartAnswer;
    rememberVisitor(a.visitorId);
    const l: StoredLease = { n: a.number.replace(/\D/g, ''), s: a.sessionId, e: a.expiresAt ? Date.parse(a.expiresAt) : now() + settings.ttl * 1000 };
    if (a.leaseId) l.l = a.leaseId;
    if (a.promoCode) l.p = a.promoCode;
    save(l);
    show(l.n);
  };

  // Heartbeats while the page is visible move the lease tail; none while hidden.
  let timer: ReturnType<typeof setInterval> | undefined;
  const beat = (beacon = false) => {
    const l = lease;
    if (!l?.l) return;
    const path = `/v1/sessions/${l.s}/heartbeat`;
    const body = { siteId: settings.s, leaseId: l.l };
    if (beacon && navigator.sendBeacon) navigator.sendBeacon(api + path, JSON.stringify(body));
    else post(path, body).catch(() => undefined);
    save({ ...l, e: now() + settings.ttl * 1000 });
  };
  const pace = () => {
    if (timer) clearInterval(timer);
    timer = undefined;
    if (d.visibilityState === 'visible' && lease?.l) {
      timer = setInterval(() => beat(), settings.hb * 1000);
    }
  };
  d.addEventListener('visibilitychange', () => {
    if (d.visibilityState === 'visible') beat();
    pace();
  });
  // Leaving the page: one last heartbeat so the tail runs from now (the next page of the site continues the session).
  w.addEventListener('pagehide', () => beat(true));

  // Content added later (single-page apps) gets the number too; our own edits are no-ops the second time.
  const observer = new MutationObserver((records) => {
    if (!shown) return;
    for (const r of records) {
      if (r.type === 'characterData') replaceText(r.target.parentNode ?? r.target);
      for (const n of r.addedNodes) {
        if (n.nodeType === 1) apply(n as Element);
        else if (n.nodeType === 3 && n.parentNode) replaceText(n.parentNode);
      }
      if (r.type === 'attributes' && r.target.nodeType === 1) replaceAttributes(r.target as Element);
    }
  });
  const observe = () => observer.observe(d.documentElement, { childList: true, subtree: true, characterData: true, attributes: true, attributeFilter: ATTRIBUTES });

  const run = () => {
    observe();
    // A returning visitor (or another tab) with a live lease sees their number at once, without the network.
    const live = stored();
    if (live) {
      lease = live;
      show(live.n);
      // Arriving from an ad or a campaign link is a new visit with its own source (the service gives the same number back when it is free).
      const fromElsewhere = /[?&](utm_[a-z]+|gclid|yclid|fbclid|msclkid|ysclid)=/.test(location.search) && !d.referrer.startsWith(location.origin);
      if (!fromElsewhere) {
        beat();
        pace();
        return;
      }
    }
    start()
      .then(pace)
      .catch(() => undefined);
  };
  if (d.readyState === 'loading') d.addEventListener('DOMContentLoaded', run);
  else run();
}
