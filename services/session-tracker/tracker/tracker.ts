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
  /** National trunk prefix written before national numbers ("8" in Russia, "0" in the UK, "1" in the US). */
  tp: string;
  /** Heartbeat interval, seconds. */
  hb: number;
  /** Lease tail, seconds: how long a stored lease stays usable after the last heartbeat. */
  ttl: number;
}

interface StoredLease {
  /** Number shown (digits, E.164 without "+"). */
  n: string;
  /** Lease id; none for a static or default number (nothing to hold). */
  l?: string;
  /** Session id. */
  s: string;
  /** Expires at (ms). */
  e: number;
  /** Promo code. */
  p?: string;
}

interface StartAnswer {
  sessionId: string;
  visitorId: string;
  number: string;
  method: string;
  fallback: boolean;
  leaseId?: string;
  promoCode?: string;
  reason?: string;
}

const INLINE = /^(A|ABBR|B|BDI|BDO|BIG|CITE|CODE|DATA|DFN|EM|FONT|I|KBD|MARK|NOBR|Q|S|SAMP|SMALL|SPAN|STRONG|SUB|SUP|TIME|U|VAR|WBR)$/;
const SKIP = /^(SCRIPT|STYLE|NOSCRIPT|TEXTAREA|TEMPLATE|svg)$/;
/** A run of digits and the separators people write numbers with; the site's numbers are looked for inside it. */
const PHONE_RUN = /\d[\d\s\u00a0\-().]{5,40}\d/g;
const ATTRIBUTES = ['href', 'title', 'aria-label', 'content', 'alt', 'placeholder', 'data-phone', 'data-tel', 'value'];
const TIMEOUT_MS = 2000;
const VISITOR_COOKIE = '_ctvid';
/** Query parameters of a tagged link (UTM, ad click ids): arriving by one is a new visit with its own source. */
const TAGGED = /[?&](utm_\w+|\w*clk?id|[gw]braid|li_fat_id)=/;
const once = Symbol.for('calltrack.tracker');
/** Hidden form fields the tag fills, so the site's backend can pass the visit on with an enquiry (docs/enquiries.md). */
const FIELDS = 'input[name=calltrack_session_id],input[name=calltrack_visitor_id]';

export function track(settings: TrackerSettings, api: string): void {
  const w = window as Window & { [once]?: boolean; calltrack?: { ids(): { siteId: string; sessionId: string; visitorId: string } } };
  const d = document;
  // The tag included twice (by hand and by a tag manager) must not start two visits.
  if (w[once]) return;
  w[once] = true;
  const key = `_ct_${settings.s}`;
  const now = () => Date.now();
  // Nothing the tag does may break the page: every callback swallows its errors.
  const safe =
    <A extends unknown[]>(f: (...a: A) => void) =>
    (...a: A): void => {
      try {
        f(...a);
      } catch {
        /* the site's own number stays */
      }
    };
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
    d.cookie = `${VISITOR_COOKIE}=${id}; max-age=34560000; path=/; SameSite=Lax${location.protocol === 'https:' ? '; Secure' : ''}`;
    store.set(VISITOR_COOKIE, id);
  };

  // Numbers are compared by their national significant digits; the country code or trunk
  // prefix in front of them on the page is kept as written.
  const national = (e164: string) => (e164.indexOf(settings.cc) === 0 ? e164.slice(settings.cc.length) : e164);
  const own = settings.n.map(national);
  const prefixes = ['', settings.cc, settings.tp].filter((p, i, all) => all.indexOf(p) === i);
  /** National digits of the tracking number the page shows now ('' for the site's own). */
  let shown = '';
  /** Tracking numbers shown before on this page (a newer lease replaced them). */
  const earlier: string[] = [];
  /** What to rewrite: [digits on the page, digits to show], longest first. */
  let pairs: string[][] = [];

  /**
   * Finds the site's numbers in `s` and rewrites their digits one for one, keeping every
   * other character; put(index, text) receives each change. A number only counts when no
   * digit is glued to it (separators around it are fine).
   */
  const swap = (s: string, put: (index: number, text: string) => void): boolean => {
    let changed = false;
    PHONE_RUN.lastIndex = 0;
    for (let m = PHONE_RUN.exec(s); m; m = PHONE_RUN.exec(s)) {
      const at: number[] = [];
      let digits = '';
      for (let k = 0; k < m[0].length; k += 1) {
        const c = m[0][k]!;
        if (c >= '0' && c <= '9') {
          at.push(m.index + k);
          digits += c;
        }
      }
      for (const [from, to] of pairs) {
        for (let i = digits.indexOf(from!); i >= 0; i = digits.indexOf(from!, i + 1)) {
          const j = i + from!.length;
          if ((i > 0 && at[i - 1]! + 1 === at[i]) || (j < at.length && at[j - 1]! + 1 === at[j])) continue;
          // Equal lengths (the usual case) swap digit for digit; otherwise the last digit takes the rest.
          for (let k = i; k < j; k += 1) put(at[k]!, k < j - 1 ? (to![k - i] ?? '') : to!.slice(k - i));
          digits = digits.slice(0, i) + 'x'.repeat(j - i) + digits.slice(j);
          changed = true;
        }
      }
    }
    return changed;
  };

  /** The nearest ancestor that is not an inline element: a number may be split across inline tags inside it. */
  const blockOf = (node: Node): Node => {
    let el = node.parentNode;
    while (el && el.nodeType === 1 && INLINE.test((el as Element).tagName)) el = el.parentNode;
    return el || node;
  };

  /** Text: runs of text nodes under one block, so `<span>+7 (495)</span> <b>123-45-67</b>` is one number. */
  const replaceText = (root: Node) => {
    const walker = d.createTreeWalker(root, NodeFilter.SHOW_TEXT, {
      acceptNode: (n) => {
        for (let p = n.parentElement; p; p = p.parentElement)
          if (SKIP.test(p.tagName) || p.hasAttribute('data-calltrack-ignore')) return NodeFilter.FILTER_REJECT;
        return NodeFilter.FILTER_ACCEPT;
      },
    });
    const runs: Text[][] = [];
    let block: Node | undefined;
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const b = blockOf(n);
      if (b !== block || !runs.length) runs.push([]);
      block = b;
      runs[runs.length - 1]!.push(n as Text);
    }
    for (const run of runs) {
      const texts = run.map((t) => t.data);
      let chars: string[][] | undefined;
      const put = (p: number, text: string) => {
        chars = chars || texts.map((t) => t.split(''));
        let i = 0;
        while (p >= texts[i]!.length) p -= texts[i++]!.length;
        chars[i]![p] = text;
      };
      if (swap(texts.join(''), put)) run.forEach((t, i) => (t.data !== chars![i]!.join('') ? (t.data = chars![i]!.join('')) : undefined));
    }
  };

  /** Attributes: tel: links, titles, data attributes, meta content. */
  const replaceAttributes = (el: Element) => {
    for (const name of ATTRIBUTES) {
      const value = el.getAttribute(name);
      // Only phone links: a digit run inside another URL is not a number to swap.
      if (!value || (name === 'href' && !/^(tel|callto|sms):/i.test(value))) continue;
      const chars = value.split('');
      if (swap(value, (p, text) => (chars[p] = text))) el.setAttribute(name, chars.join(''));
    }
  };
  const selector = ATTRIBUTES.map((a) => `[${a}]`).join();
  const replaceAttributesUnder = (root: Element | Document) => {
    if (root !== d) replaceAttributes(root as Element);
    for (const el of root.querySelectorAll(selector)) replaceAttributes(el);
  };

  const promo = () => {
    const code = lease && lease.p;
    if (code) for (const el of d.querySelectorAll('[data-calltrack-promo]')) if (el.textContent !== code) el.textContent = code;
  };

  let lease: StoredLease | undefined;
  // The visit, also when it got no lease (a fallback or a static number): forms and the accessor name it.
  let sessionId = '';
  const fill = (root: Element | Document) => {
    const inputs = root.querySelectorAll<HTMLInputElement>(FIELDS);
    for (const el of (root as Element).matches && (root as Element).matches(FIELDS) ? [root as HTMLInputElement, ...inputs] : inputs) {
      const v = el.name === 'calltrack_session_id' ? sessionId : visitorId;
      if (v && el.value !== v) el.value = v;
    }
  };
  w.calltrack = { ids: () => ({ siteId: settings.s, sessionId, visitorId }) };
  /** The whole page: text, attributes, promo code, form fields. */
  const apply = () => {
    if (pairs.length) {
      if (d.body) replaceText(d.body);
      replaceAttributesUnder(d);
    }
    promo();
    fill(d);
    // Our own edits need no second look (and the whole page was just covered).
    observer.takeRecords();
  };
  /** Shows `digits` (E.164) in place of the site's numbers; showing a site's own number puts back what was swapped. */
  const show = (digits: string) => {
    const target = national(digits);
    const mine = own.indexOf(target) >= 0;
    if (target === shown || (mine && !shown)) return promo();
    if (shown) earlier.push(shown);
    pairs = [];
    for (const from of mine ? [shown] : own.concat(earlier)) if (from !== target) for (const p of prefixes) pairs.push([p + from, p + target]);
    pairs.sort((a, b) => b[0]!.length - a[0]!.length);
    apply();
    shown = mine ? '' : target;
    if (mine) pairs = [];
  };

  const post = (path: string, body: object): Promise<Response> => {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), TIMEOUT_MS);
    // A string body goes as text/plain: a "simple" cross-origin request, no CORS preflight.
    return fetch(api + path, { method: 'POST', body: JSON.stringify(body), signal: controller.signal, keepalive: true, credentials: 'omit' }).finally(() =>
      clearTimeout(timer),
    );
  };

  const save = (l: StoredLease | undefined) => {
    lease = l;
    store.set(key, l ? JSON.stringify(l) : '');
  };
  const stored = (): StoredLease | undefined => {
    try {
      const l = JSON.parse(store.get(key) || 'null') as StoredLease | null;
      return l && l.e > now() + 5000 ? l : undefined;
    } catch {
      return undefined;
    }
  };

  const analyticsIds = (landing: URL) => {
    const ga = cookie('_ga').split('.');
    const fbclid = landing.searchParams.get('fbclid');
    const ids: Record<string, string> = {
      // _ga is GA1.<domain depth>.<client id: random>.<first visit>.
      gaClientId: ga.length >= 4 ? `${ga[2]}.${ga[3]}` : '',
      ymUid: cookie('_ym_uid'),
      fbp: cookie('_fbp'),
      // Meta's format for a click that its pixel has not stored yet.
      fbc: cookie('_fbc') || (fbclid ? `fb.1.${now()}.${fbclid}` : ''),
    };
    for (const k of Object.keys(ids)) if (!ids[k]) delete ids[k];
    return ids;
  };

  // The URL the visitor landed on: a single-page app may already have rewritten location (and dropped its tags).
  const navigation = w.performance && performance.getEntriesByType ? performance.getEntriesByType('navigation')[0] : undefined;
  const landing = navigation && /^https?:/.test(navigation.name) ? navigation.name : location.href;

  // Heartbeats while the page is visible move the lease tail; none while hidden.
  let timer: ReturnType<typeof setInterval> | undefined;
  const pace = () => {
    clearInterval(timer);
    timer = undefined;
    if (d.visibilityState === 'visible' && lease && lease.l) timer = setInterval(safe(beat), settings.hb * 1000);
  };

  const start = () =>
    post('/v1/sessions', {
      siteId: settings.s,
      landingPage: landing,
      referrer: d.referrer,
      analyticsIds: analyticsIds(new URL(landing)),
      ...(/^[\w.-]{8,64}$/.test(visitorId) ? { visitorId } : {}),
    })
      .then((res) => (res.ok ? (res.json() as Promise<StartAnswer>) : undefined))
      .then(
        safe((a: StartAnswer | undefined) => {
          if (!a) return;
          rememberVisitor(a.visitorId);
          sessionId = a.sessionId;
          fill(d);
          // A fallback (pool exhausted or slow, a bot) is not kept: the next page asks again.
          // The expiry by this clock (the page's clock may be off the service's): granted now, one tail.
          // holder_share: the number of this visitor's live lease (kept, with its heartbeats), or its address's.
          if (a.reason !== 'holder_share')
            save(a.fallback ? undefined : { n: a.number.replace(/\D/g, ''), s: a.sessionId, e: now() + settings.ttl * 1000, l: a.leaseId, p: a.promoCode });
          show(a.number.replace(/\D/g, ''));
          pace();
        }),
      )
      .catch(() => undefined);

  const beat = (beacon?: boolean) => {
    const l = lease;
    if (!l || !l.l) return;
    // The tail ran out (the page was hidden too long): the number may be someone else's now.
    if (l.e < now()) {
      lease = undefined;
      pace();
      return void start();
    }
    const path = `/v1/sessions/${l.s}/heartbeat`;
    const body = { siteId: settings.s, leaseId: l.l };
    const extended = () => lease === l && save({ ...l, e: now() + settings.ttl * 1000 });
    if (!beacon) {
      post(path, body)
        .then((res) => res.ok && extended())
        .catch(() => undefined);
    } else if (navigator.sendBeacon && navigator.sendBeacon(api + path, JSON.stringify(body))) extended();
  };

  d.addEventListener(
    'visibilitychange',
    safe(() => {
      if (d.visibilityState === 'visible') beat();
      pace();
    }),
  );
  // Leaving the page: one last heartbeat (a beacon survives the unload) so the tail runs from
  // now and the next page of the site continues the session with the same number. Not an end:
  // a lease ended by /end cannot be extended by that next page.
  w.addEventListener(
    'pagehide',
    safe(() => beat(true)),
  );
  // Another tab of this visitor took a new lease (a new visit from an ad): show it here too.
  w.addEventListener(
    'storage',
    safe((e: StorageEvent) => {
      const l = e.key === key ? stored() : undefined;
      if (!l) return;
      const other = !lease || lease.s !== l.s;
      lease = l;
      if (other) {
        sessionId = l.s;
        fill(d);
        show(l.n);
        pace();
      }
    }),
  );

  // Content added later (single-page apps, content parsed after the tag ran) gets the number
  // too: each touched block once per batch of changes.
  const observer = new MutationObserver(
    safe((records: MutationRecord[]) => {
      for (const r of records) for (const n of r.addedNodes) if (n.nodeType === 1 && n.parentNode) fill(n as Element);
      if (!pairs.length && !(lease && lease.p)) return;
      const blocks = new Set<Node>();
      const elements = new Set<Element>();
      for (const r of records) {
        if (r.type === 'attributes') elements.add(r.target as Element);
        else if (r.type === 'characterData') blocks.add(blockOf(r.target));
        else
          for (const n of r.addedNodes) {
            if (!n.parentNode) continue;
            blocks.add(n.nodeType === 1 && !INLINE.test((n as Element).tagName) ? n : blockOf(n));
            if (n.nodeType === 1) elements.add(n as Element);
          }
      }
      if (pairs.length) {
        blocks.forEach(replaceText);
        elements.forEach(replaceAttributesUnder);
      }
      promo();
      observer.takeRecords();
    }),
  );
  observer.observe(d.documentElement, { childList: true, subtree: true, characterData: true, attributes: true, attributeFilter: ATTRIBUTES });
  // A route change of a single-page app: the new view is scanned once it has rendered.
  const routed = safe(() => setTimeout(safe(apply), 0));
  w.addEventListener('popstate', routed);
  const h = history;
  for (const m of ['pushState', 'replaceState'] as const) {
    const original = h[m];
    h[m] = function (this: History, ...a: Parameters<History['pushState']>) {
      original.apply(this, a);
      routed();
    };
  }
  if (d.readyState === 'loading')
    d.addEventListener(
      'DOMContentLoaded',
      safe(() => apply()),
    );

  // A returning visitor (or another tab) with a live lease sees their number at once, before any network.
  const live = stored();
  if (live) {
    lease = live;
    sessionId = live.s;
    show(live.n);
  }
  // Arriving again from an ad or a tagged link is a new visit with its own source (the service
  // gives the same number back when it is free); otherwise the visit goes on.
  if (live && !(TAGGED.test(new URL(landing).search) && d.referrer.indexOf(location.origin) !== 0)) {
    beat();
    pace();
  } else void start();
}
