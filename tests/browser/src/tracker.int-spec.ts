// The tracker tag in real headless Chromium (Debian's chromium, driven by
// playwright-core) against real number-pool and session-tracker on the test broker:
// landing pages on another origin under a strict CSP, numbers in many formats, a
// single-page app's route changes, promo codes, two tabs of one visitor, a returning
// visitor, heartbeats paused while hidden, the last beacon on pagehide, and the
// service down or hanging.
import assert from 'node:assert/strict';
import { createServer, get, type IncomingHttpHeaders, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { visitOriginOf, type calltrack } from '@calltrack/contracts';
import { loadNumberPoolConfig, startNumberPool } from '@calltrack/number-pool';
import { loadSessionTrackerConfig, startSessionTracker } from '@calltrack/session-tracker';
import type { RunningService } from '@calltrack/service-kit';
import { createKafkaTestEnv, http, TopicProbe, waitFor, type KafkaTestEnv } from '@calltrack/testing';
import { LandingSite } from './landing-site.js';

const ADMIN = 'browser-admin-token-0123456789';
const auth = { authorization: `Bearer ${ADMIN}` };
// Headless Chromium announces itself as HeadlessChrome, which bot detection rightly flags.
const USER_AGENT = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36';
const POOL = ['+74951110001', '+74951110002', '+74951110003', '+74951110004', '+74951110005', '+74951110006', '+74951110007', '+74951110008'];
const US_POOL = ['+14155550101', '+14155550102'];

interface StartAnswer {
  sessionId: string;
  visitorId: string;
  number: string;
  method: string;
  leaseId?: string;
  promoCode?: string;
}

/** How each written form of the shop's +7 495 123-45-67 must read with the tracking number, keeping the site's formatting. */
function expected(tracking: string) {
  const d = tracking.slice(2); // national significant number, 10 digits
  const [a, b, c, e] = [d.slice(0, 3), d.slice(3, 6), d.slice(6, 8), d.slice(8, 10)];
  return {
    plus: `+7 (${a}) ${b}-${c}-${e}`,
    eight: `8 ${a} ${b}-${c}-${e}`,
    dashes: `Call 8-${a}-${b}${c}${e} today`,
    compact: `+7${d}`,
    split: `+7 (${a}) ${b}-${c}-${e}`,
    nbsp: `8\u00a0(${a})\u00a0${b}\u00a0${c}\u00a0${e}`,
    spaced: `8 (${a}) ${b} ${c} ${e} (24/7)`,
    // Both own numbers (the default and the other site number) in one line.
    two: `+7 ${a} ${b} ${c} ${e} 8 ${a} ${b} ${c} ${e}`,
    tollfree: `8 ${a} ${b}-${c}-${e}`,
    href: `tel:+7${d}`,
    title: `Call +7 ${a} ${b}-${c}-${e}`,
    ariaLabel: `Call 8 ${a} ${b}-${c}-${e}`,
    dataPhone: `8${d}`,
    meta: `+7 ${a} ${b}-${c}-${e}`,
    spa: `Phone: 8 (${a}) ${b}-${c}-${e}`,
    later: `Manager: 8 ${a} ${b} ${c} ${e}`,
  };
}

/** GET without transparent decompression: the bytes exactly as served. */
function getRaw(url: string, headers: Record<string, string>): Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    get(url, { headers }, (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    }).on('error', reject);
  });
}

const listen = async (server: Server): Promise<string> => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
};

describe('the tracker script in headless Chromium', () => {
  let env: KafkaTestEnv;
  let pool: RunningService;
  let tracker: RunningService;
  let site: LandingSite;
  let browser: Browser;
  let probe: TopicProbe;
  /** An API origin where nothing listens (connections refused). */
  let refusedOrigin: string;
  /** An API origin that accepts requests and never answers them. */
  let hangingOrigin: string;
  let hanging: Server;
  const hangingRequests: string[] = [];

  const text = (page: Page, id: string) => page.locator(`#${id}`).evaluate((el) => el.textContent ?? '');
  const shownNumber = async (page: Page) => `+7${(await text(page, 'compact')).replace(/\D/g, '').slice(1)}`;
  const newContext = () => browser.newContext({ userAgent: USER_AGENT });
  const sessionStarted = (page: Page) => page.waitForResponse((r) => r.url().endsWith('/v1/sessions') && r.request().method() === 'POST');
  const storedLease = async (page: Page) =>
    JSON.parse((await page.evaluate(() => localStorage.getItem('_ct_shop'))) || '{}') as { l?: string; s?: string; n?: string };
  const extensionsOf = (leaseId: string) =>
    probe.events('poolCommands').filter((e) => e.type === 'LeaseExtendRequested' && e.payload.leaseId === leaseId) as Array<{
      payload: calltrack.events.v1.LeaseExtendRequested;
    }>;
  /** Two rendered frames: layout shifts of what changed before are reported by then. */
  const frames = (page: Page) => page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  const watchErrors = (page: Page) => {
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      // A refused connection is the browser's own network log line, and the page's own inline script is blocked on
      // purpose (it proves the CSP is in force); anything else, a CSP violation by the tracker included, is a failure.
      if (m.type() === 'error' && !/^Failed to load resource: net::|^Executing inline script violates/.test(m.text())) errors.push(m.text());
    });
    return errors;
  };
  const setVisibility = (page: Page, state: 'hidden' | 'visible') =>
    page.evaluate((s) => {
      // Headless Chromium has no window to minimise: the page is told, the way the browser tells it.
      Object.defineProperty(document, 'visibilityState', { value: s, configurable: true });
      Object.defineProperty(document, 'hidden', { value: s === 'hidden', configurable: true });
      document.dispatchEvent(new Event('visibilitychange'));
    }, state);

  before(async () => {
    env = await createKafkaTestEnv('browser');
    const base = { ...env.env, ADMIN_TOKEN: ADMIN, PORT: '0', HTTP_HOST: '127.0.0.1', LOG_LEVEL: 'warn' };
    pool = await startNumberPool(loadNumberPoolConfig({ ...base, EXPIRY_SWEEP_INTERVAL_MS: '200' }));
    tracker = await startSessionTracker(loadSessionTrackerConfig({ ...base, LEASE_REPLY_TIMEOUT_MS: '5000' }));
    probe = await TopicProbe.start(env, ['poolCommands', 'poolEvents', 'sessions']);
    const configure = async (siteId: string, body: object) => {
      const put = await http('PUT', `${pool.url}/v1/admin/sites/${siteId}`, { headers: auth, body });
      assert.equal(put.status, 200, JSON.stringify(put.body));
    };
    await configure('shop', {
      name: 'Shop',
      country: 'RU',
      timeZone: 'Europe/Moscow',
      defaultNumber: '+7 (495) 123-45-67',
      otherSiteNumbers: ['8 800 555-35-35'],
      poolNumbers: POOL,
      leaseTtlSeconds: 120,
    });
    await configure('us-shop', { name: 'US shop', country: 'US', timeZone: 'America/Los_Angeles', defaultNumber: '(415) 555-0100', poolNumbers: US_POOL });
    await configure('promo-shop', {
      name: 'Promo shop',
      country: 'RU',
      timeZone: 'Europe/Moscow',
      defaultNumber: '+7 495 200-00-00',
      otherSiteNumbers: ['8 800 200-00-00'],
      promoCodes: { length: 6, prefix: 'WEB-' },
      rules: [{ id: 'everyone', method: 'promo_code' }],
    });
    for (const id of ['shop', 'us-shop', 'promo-shop'])
      await waitFor(async () => (await fetch(`${tracker.url}/v1/sites/${id}/tracker.js`)).status === 200, { what: `site ${id} to reach session-tracker` });
    site = await new LandingSite(tracker.url).start();
    const closed = createServer();
    refusedOrigin = await listen(closed);
    await new Promise((r) => closed.close(r));
    hanging = createServer((req) => hangingRequests.push(`${req.method} ${req.url}`));
    hangingOrigin = await listen(hanging);
    browser = await chromium.launch({
      executablePath: process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium',
      args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking'],
    });
  });

  after(async () => {
    await browser?.close();
    hanging?.closeAllConnections();
    await new Promise((r) => (hanging ? hanging.close(r) : r(undefined)));
    await site?.stop();
    await probe?.stop();
    await tracker?.close();
    await pool?.close();
  });

  it('is one small cross-origin script: gzipped at most 5 KB as served, cacheable with an ETag, CORS-open, nothing eval-like', async (t) => {
    const url = `${tracker.url}/v1/sites/shop/tracker.js`;
    const gz = await getRaw(url, { 'accept-encoding': 'gzip, deflate, br' });
    assert.equal(gz.status, 200);
    assert.equal(gz.headers['content-encoding'], 'gzip');
    assert.ok(gz.body.length <= 5 * 1024, `gzipped size ${gz.body.length} bytes`);
    t.diagnostic(`served gzipped: ${gz.body.length} bytes`);
    const plain = await getRaw(url, {});
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.deepEqual(gunzipSync(gz.body), plain.body, 'the same script either way');
    for (const r of [gz, plain]) {
      assert.match(r.headers['content-type'] ?? '', /^application\/javascript/);
      assert.equal(r.headers['access-control-allow-origin'], '*');
      assert.match(r.headers['cache-control'] ?? '', /max-age=\d+/);
      assert.match(r.headers['vary'] ?? '', /accept-encoding/i);
    }
    const source = plain.body.toString('utf8');
    assert.doesNotMatch(source, /\beval\(|new Function\(|innerHTML|insertAdjacentHTML|document\.write|\.style\b/);
    assert.match(source, /"74951234567"/, "the site's settings are inlined");
    assert.equal((await getRaw(url, { 'if-none-match': String(gz.headers.etag) })).status, 304);
    assert.equal((await getRaw(url, { 'if-none-match': `"older", ${String(gz.headers.etag)}` })).status, 304);
    assert.equal((await getRaw(url, { 'if-none-match': '"older"' })).status, 200);
    assert.equal((await getRaw(`${tracker.url}/v1/sites/nowhere/tracker.js`, {})).status, 404);
  });

  it('replaces the number in every format, in tel: links and attributes, keeps formatting, shifts no layout, under a strict CSP; SPA routes too', async () => {
    const context = await newContext();
    await context.addCookies([
      { name: '_ga', value: 'GA1.1.1234567890.1700000000', url: site.url },
      { name: '_ym_uid', value: '1700000000123456789', url: site.url },
      { name: '_fbp', value: 'fb.1.1700000000000.987654321', url: site.url },
    ]);
    const page = await context.newPage();
    await page.addInitScript(() => {
      const w = window as unknown as { __cls: number };
      w.__cls = 0;
      new PerformanceObserver((list) => {
        for (const e of list.getEntries() as Array<PerformanceEntry & { value: number; hadRecentInput: boolean }>) if (!e.hadRecentInput) w.__cls += e.value;
      }).observe({ type: 'layout-shift', buffered: true });
    });
    const cls = () => page.evaluate(() => (window as unknown as { __cls: number }).__cls);
    const errors = watchErrors(page);
    const started = sessionStarted(page);
    const landing = `${site.url}/landing.html?utm_source=google&utm_medium=cpc&gclid=CjwKCAtest&fbclid=IwAR0test`;
    await page.goto(landing);
    const answer = (await (await started).json()) as StartAnswer;
    assert.ok(POOL.includes(answer.number), `a pool number: ${JSON.stringify(answer)}`);
    const want = expected(answer.number);
    await waitFor(async () => (await text(page, 'compact')) === want.compact, { what: 'the number to be replaced' });
    for (const id of ['plus', 'eight', 'dashes', 'compact', 'split', 'nbsp', 'spaced', 'two', 'tollfree'] as const)
      assert.equal(await text(page, id), want[id], id);
    assert.equal(await page.locator('#split .code').textContent(), `+7 (${want.compact.slice(2, 5)})`, 'the split number keeps its tags');
    const link = page.locator('#tel');
    assert.equal(await link.getAttribute('href'), want.href);
    assert.equal(await link.getAttribute('title'), want.title);
    assert.equal(await link.getAttribute('aria-label'), want.ariaLabel);
    assert.equal(await link.getAttribute('data-phone'), want.dataPhone);
    assert.equal(await page.locator('meta[name="contact:phone_number"]').getAttribute('content'), want.meta);
    assert.equal(await page.locator('#web').getAttribute('href'), 'https://maps.example/84951234567', 'digits inside other URLs are left alone');
    assert.equal(
      await text(page, 'other'),
      'Order 1234567 of 8 495 765-43-21, account 40817810849512345678',
      'other numbers and longer digit runs are left alone',
    );
    assert.equal(
      await page.evaluate(() => (window as unknown as { inlineScriptRan?: boolean }).inlineScriptRan),
      undefined,
      'the CSP is in force (inline scripts blocked)',
    );
    await frames(page);
    assert.equal(await cls(), 0, 'no layout shift');
    // The measurement is live: a banner pushed in at the top is a shift.
    await page.evaluate(() => document.body.prepend(Object.assign(document.createElement('h1'), { textContent: 'Sale!' })));
    await frames(page);
    assert.ok((await cls()) > 0, 'a real shift is measured');

    // The visitor's first-party id, the session's landing page and the analytics ids exports need.
    const cookies = await context.cookies(site.url);
    assert.equal(cookies.find((c) => c.name === '_ctvid')?.value, answer.visitorId);
    assert.equal(await page.evaluate(() => localStorage.getItem('_ctvid')), answer.visitorId);
    const session = await waitFor(() => probe.events('sessions').find((e) => e.type === 'SessionStarted' && e.payload.sessionId === answer.sessionId));
    const startedVisit = session.payload as calltrack.events.v1.SessionStarted;
    assert.equal(startedVisit.visitorId, answer.visitorId);
    const visit = visitOriginOf(startedVisit);
    assert.equal(visit.landingPage, landing);
    assert.equal(visit.clickIds['gclid'], 'CjwKCAtest');
    assert.equal(visit.utm.source, 'google');
    assert.equal(visit.analyticsIds.gaClientId, '1234567890.1700000000');
    assert.equal(visit.analyticsIds.ymUid, '1700000000123456789');
    assert.equal(visit.analyticsIds.fbp, 'fb.1.1700000000000.987654321');
    assert.match(visit.analyticsIds.fbc, /^fb\.1\.\d{13}\.IwAR0test$/);

    // Content added without a route change (only the MutationObserver sees it): a block split across tags, a new tel: href.
    await page.click('#more');
    await waitFor(async () => (await text(page, 'more-number')) === `Sales: +7 ${want.compact.slice(2, 5)} ${want.eight.slice(6)}`, {
      what: 'content added later to be replaced',
    });
    await waitFor(async () => (await page.locator('#tel-later').getAttribute('href')) === `tel:8${want.compact.slice(2)}`, {
      what: 'an href set later to be replaced',
    });

    // A single-page-app route change (pushState) renders the number again and rewrites a text: replaced too.
    await page.click('#route');
    await waitFor(async () => (await text(page, 'spa-number')) === want.spa, { what: 'the SPA content to be replaced' });
    assert.equal(await page.locator('#spa-number a').getAttribute('href'), `tel:8${want.compact.slice(2)}`);
    await waitFor(async () => (await text(page, 'later')) === want.later, { what: 'the rewritten text to be replaced' });
    assert.equal(new URL(page.url()).pathname, '/contacts');
    // Back (popstate): the app renders the number split across inline tags into an existing block.
    await page.goBack();
    await waitFor(async () => (await text(page, 'spa-split')) === want.split, { what: 'the split number added later to be replaced' });
    assert.equal(await page.locator('#spa-split span').textContent(), `+7 (${want.compact.slice(2, 5)})`);
    assert.deepEqual(errors, []);
    await context.close();
  });

  it('keeps US formats: (415) 555-0100, +1 415-555-0100, dots, the trunk 1, split, tel: and aria-label', async () => {
    const context = await newContext();
    const page = await context.newPage();
    const errors = watchErrors(page);
    const started = sessionStarted(page);
    await page.goto(`${site.url}/us.html`);
    const answer = (await (await started).json()) as StartAnswer;
    assert.ok(US_POOL.includes(answer.number), JSON.stringify(answer));
    const d = answer.number.slice(2);
    const [a, b, c] = [d.slice(0, 3), d.slice(3, 6), d.slice(6)];
    await waitFor(async () => (await text(page, 'us-parens')) === `(${a}) ${b}-${c}`, { what: 'the US number to be replaced' });
    assert.equal(await text(page, 'us-plus'), `+1 ${a}-${b}-${c}`);
    assert.equal(await text(page, 'us-dots'), `${a}.${b}.${c}`);
    assert.equal(await text(page, 'us-trunk'), `1-${a}-${b}-${c}`);
    assert.equal(await text(page, 'us-split'), `Call +1 (${a}) ${b} ${c}`);
    assert.equal(await page.locator('#us-tel').getAttribute('href'), `tel:+1${d}`);
    assert.equal(await page.locator('#us-tel').getAttribute('aria-label'), `Call (${a}) ${b}-${c}`);
    assert.deepEqual(errors, []);
    await context.close();
  });

  it('shows the promo code where the page marks it (also in content added later) and leaves the site numbers as they are', async () => {
    const context = await newContext();
    const page = await context.newPage();
    const errors = watchErrors(page);
    const started = sessionStarted(page);
    await page.goto(`${site.url}/promo.html`);
    const answer = (await (await started).json()) as StartAnswer;
    assert.equal(answer.method, 'promo_code', JSON.stringify(answer));
    assert.match(answer.promoCode ?? '', /^WEB-[A-Z0-9]{6}$/);
    await waitFor(async () => (await text(page, 'promo-code')) === answer.promoCode, { what: 'the promo code to be shown' });
    assert.equal(await text(page, 'promo-number'), '+7 (495) 200-00-00');
    assert.equal(await text(page, 'promo-other'), '8 800 200-00-00', 'the other site number is not swapped for the default one');
    // The visit for the site's backend: hidden form fields (also of a form added later) and the accessor.
    const field = (form: string, name: string) =>
      page.evaluate(([f, n]) => document.querySelector<HTMLInputElement>(`#${f} input[name=${n}]`)?.value ?? null, [form, name]);
    await waitFor(async () => (await field('order', 'calltrack_session_id')) === answer.sessionId, { what: 'the session id in the form' });
    assert.equal(await field('order', 'calltrack_visitor_id'), answer.visitorId);
    assert.deepEqual(await page.evaluate(() => (window as unknown as { calltrack: { ids(): object } }).calltrack.ids()), {
      siteId: 'promo-shop',
      sessionId: answer.sessionId,
      visitorId: answer.visitorId,
    });
    await page.click('#more');
    await waitFor(async () => (await text(page, 'more-promo')) === answer.promoCode, { what: 'the promo code in content added later' });
    await waitFor(async () => (await field('callback', 'calltrack_session_id')) === answer.sessionId, { what: 'the session id in a form added later' });
    await page.click('#route');
    await waitFor(async () => (await text(page, 'spa-promo')) === answer.promoCode, { what: 'the promo code in SPA content' });
    assert.deepEqual(errors, []);
    await context.close();
  });

  it('two tabs of one visitor: one visitor id, one number, one lease (also with the tag included twice)', async () => {
    const context = await newContext();
    const first = await context.newPage();
    const firstStarts: string[] = [];
    first.on('request', (r) => {
      if (r.method() === 'POST' && r.url().endsWith('/v1/sessions')) firstStarts.push(r.url());
    });
    const started = sessionStarted(first);
    await first.goto(`${site.url}/?twice=1`);
    const answer = (await (await started).json()) as StartAnswer;
    await waitFor(async () => (await shownNumber(first)) === answer.number, { what: 'the first tab to show its number' });
    assert.equal(await first.locator('script[src$="/tracker.js"]').count(), 2);
    assert.equal(firstStarts.length, 1, 'one visit started by the two tags');

    const second = await context.newPage();
    const secondStarts: string[] = [];
    second.on('request', (r) => {
      if (r.method() === 'POST' && r.url().endsWith('/v1/sessions')) secondStarts.push(r.url());
    });
    const secondBeat = second.waitForRequest((r) => r.url().endsWith(`/v1/sessions/${answer.sessionId}/heartbeat`));
    await second.goto(`${site.url}/`);
    await waitFor(async () => (await shownNumber(second)) === answer.number, { what: 'the second tab to show the same number' });
    assert.equal(await second.evaluate(() => localStorage.getItem('_ctvid')), answer.visitorId);
    assert.match(await second.evaluate(() => document.cookie), new RegExp(`_ctvid=${answer.visitorId}`));
    // The second tab continues the first tab's session (its heartbeats hold the same lease).
    await secondBeat;
    assert.deepEqual(secondStarts, [], 'the second tab started no session of its own');
    await waitFor(() => extensionsOf(answer.leaseId!).length > 0, { what: 'the shared lease to be extended' });
    const requests = probe.events('poolCommands').filter((e) => e.type === 'LeaseRequested' && e.payload.visitorId === answer.visitorId);
    assert.equal(requests.length, 1, 'number-pool was asked for one number');
    await context.close();
  });

  it('a returning visitor sees their number from the stored live lease while the service has not answered; a new ad click starts a new visit', async () => {
    const context = await newContext();
    const first = await context.newPage();
    const started = sessionStarted(first);
    await first.goto(`${site.url}/`);
    const answer = (await (await started).json()) as StartAnswer;
    await waitFor(async () => (await shownNumber(first)) === answer.number, { what: 'a number' });
    await first.close();

    // The service hangs: every call of the next page stays unanswered, yet the number is there.
    const next = await context.newPage();
    const errors = watchErrors(next);
    await next.goto(`${site.url}/?api=${encodeURIComponent(hangingOrigin)}`);
    await waitFor(async () => (await shownNumber(next)) === answer.number, { what: 'the returning visitor to see their number' });
    assert.equal(await text(next, 'eight'), expected(answer.number).eight);
    await waitFor(() => hangingRequests.includes(`POST /v1/sessions/${answer.sessionId}/heartbeat`), {
      what: 'the page to confirm the lease with the service',
    });
    assert.ok(!hangingRequests.includes('POST /v1/sessions'), 'no new session for a visit that goes on');
    assert.deepEqual(errors, []);

    // Back from an ad while the old lease is live: a new visit with its own source and number, swapped in place
    // (and the tab still open shows the new number too).
    const fromAd = await context.newPage();
    const again = sessionStarted(fromAd);
    await fromAd.goto(`${site.url}/landing.html?utm_source=yandex&utm_medium=cpc&yclid=777`);
    const second = (await (await again).json()) as StartAnswer;
    assert.equal(second.visitorId, answer.visitorId);
    assert.notEqual(second.sessionId, answer.sessionId);
    await waitFor(async () => (await shownNumber(fromAd)) === second.number, { what: 'the new visit to show its number' });
    assert.equal(await text(fromAd, 'split'), expected(second.number).split);
    await waitFor(async () => (await shownNumber(next)) === second.number, { what: 'the other tab to follow' });
    assert.equal(await text(next, 'split'), expected(second.number).split);
    await context.close();
  });

  it('heartbeats while the page is visible, none while hidden, one at once when visible again; number-pool moves the tail', async () => {
    const context = await newContext();
    const page = await context.newPage();
    const beats: number[] = [];
    page.on('request', (r) => {
      if (r.url().includes('/heartbeat')) beats.push(Date.now());
    });
    await page.goto(`${site.url}/`);
    await waitFor(async () => POOL.includes(await shownNumber(page)), { what: 'a number' });
    await waitFor(() => beats.length >= 2, { what: 'heartbeats while visible' });
    const leaseId = (await storedLease(page)).l!;
    await waitFor(() => probe.events('poolEvents').some((e) => e.type === 'LeaseExtended' && e.payload.leaseId === leaseId), {
      what: 'number-pool to extend the lease',
    });

    await setVisibility(page, 'hidden');
    const hiddenAt = Date.now();
    await new Promise((r) => setTimeout(r, 3000)); // three heartbeat intervals
    // A request already under way when the page was hidden may be reported a moment later.
    assert.deepEqual(
      beats.filter((t) => t > hiddenAt + 300),
      [],
      'no heartbeat while hidden',
    );
    const visibleAt = Date.now();
    await setVisibility(page, 'visible');
    await waitFor(() => beats.some((t) => t >= visibleAt), { what: 'a heartbeat once visible again' });
    await context.close();
  });

  it('leaving the page sends a last heartbeat by beacon (not an end: the next page goes on with the lease)', async () => {
    const context = await newContext();
    const page = await context.newPage();
    const beats: string[] = [];
    page.on('request', (r) => {
      if (r.url().includes('/heartbeat')) beats.push(r.url());
    });
    const started = sessionStarted(page);
    await page.goto(`${site.url}/?hb=600`);
    const answer = (await (await started).json()) as StartAnswer;
    await waitFor(async () => (await shownNumber(page)) === answer.number, { what: 'a number' });
    assert.deepEqual(beats, [], 'no heartbeat before the first interval');
    assert.deepEqual(extensionsOf(answer.leaseId!), []);
    await page.goto('about:blank');
    const [last] = await waitFor(
      () => {
        const e = extensionsOf(answer.leaseId!);
        return e.length ? e : undefined;
      },
      { what: 'the pagehide beacon to reach number-pool' },
    );
    assert.equal(last!.payload.final, false);
    assert.equal(last!.payload.sessionId, answer.sessionId);
    await context.close();
  });

  it('keeps the site number, silently, when the service refuses connections, hangs past the 2 s timeout, or the script cannot load', async () => {
    const context = await newContext();
    for (const [what, query, failing] of [
      ['refused', `api=${encodeURIComponent(refusedOrigin)}`, '/v1/sessions'],
      ['hanging', `api=${encodeURIComponent(hangingOrigin)}`, '/v1/sessions'],
      ['script down', `src=${encodeURIComponent(refusedOrigin)}`, '/tracker.js'],
    ] as const) {
      const page = await context.newPage();
      const errors = watchErrors(page);
      // The tracker gives up (or the browser does): the request fails rather than hanging the page.
      const failed = page.waitForEvent('requestfailed', { predicate: (r) => r.url().endsWith(failing), timeout: 15_000 });
      await page.goto(`${site.url}/?${query}`);
      await failed;
      await frames(page);
      assert.equal(await text(page, 'plus'), '+7 (495) 123-45-67', what);
      assert.equal(await text(page, 'compact'), '+74951234567', what);
      assert.equal(await page.locator('#tel').getAttribute('href'), 'tel:+74951234567', what);
      assert.deepEqual(errors, [], what);
      await page.close();
    }
    assert.ok(hangingRequests.includes('POST /v1/sessions'), 'the hanging service was asked');
    await context.close();
  });
});
