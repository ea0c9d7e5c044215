// The tracker tag in real headless Chromium (Debian's chromium, driven by
// playwright-core): a landing page on another origin under a strict CSP, numbers
// in many formats, a single-page-app route change, two tabs of one visitor, a
// returning visitor, heartbeats paused while hidden, and the service down.
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { loadNumberPoolConfig, startNumberPool } from '@calltrack/number-pool';
import { loadSessionTrackerConfig, startSessionTracker } from '@calltrack/session-tracker';
import type { RunningService } from '@calltrack/service-kit';
import { createKafkaTestEnv, http, TopicProbe, waitFor, type KafkaTestEnv } from '@calltrack/testing';
import { LandingSite } from './landing-site.js';

const ADMIN = 'browser-admin-token-0123456789';
const auth = { authorization: `Bearer ${ADMIN}` };
// Headless Chromium announces itself as HeadlessChrome, which bot detection rightly flags.
const USER_AGENT = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36';
const POOL = ['+74951110001', '+74951110002', '+74951110003'];

/** How each written form of +7 495 123-45-67 must read with the tracking number, keeping the site's formatting. */
function expected(tracking: string) {
  const d = tracking.slice(2); // national significant number, 10 digits
  const a = d.slice(0, 3);
  const b = d.slice(3, 6);
  const c = d.slice(6, 8);
  const e = d.slice(8, 10);
  return {
    plus: `+7 (${a}) ${b}-${c}-${e}`,
    eight: `8 ${a} ${b}-${c}-${e}`,
    dashes: `Call 8-${a}-${b}${c}${e} today`,
    compact: `+7${d}`,
    split: `+7 (${a}) ${b}-${c}-${e}`,
    nbsp: `8\u00a0(${a})\u00a0${b}\u00a0${c}\u00a0${e}`,
    tollfree: `8 ${a} ${b}-${c}-${e}`,
    href: `tel:+7${d}`,
    title: `Call +7 ${a} ${b}-${c}-${e}`,
    dataPhone: `8${d}`,
    spa: `Phone: 8 (${a}) ${b}-${c}-${e}`,
  };
}

describe('the tracker script in headless Chromium', () => {
  let env: KafkaTestEnv;
  let pool: RunningService;
  let tracker: RunningService;
  let site: LandingSite;
  let browser: Browser;
  let probe: TopicProbe;

  const text = (page: Page, id: string) => page.locator(`#${id}`).evaluate((el) => el.textContent ?? '');
  const shownNumber = async (page: Page) => `+7${(await text(page, 'compact')).replace(/\D/g, '').slice(1)}`;
  const newContext = () => browser.newContext({ userAgent: USER_AGENT });
  const watchErrors = (page: Page) => {
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      // A refused connection is the browser's own network log line, and the page's own inline script is blocked on
      // purpose (it proves the CSP is in force); anything else, a CSP violation by the tracker included, is a failure.
      if (m.type() === 'error' && !/Failed to load resource|ERR_CONNECTION_REFUSED|net::|^Executing inline script violates/.test(m.text())) errors.push(m.text());
    });
    return errors;
  };
  const leased = async () => (await http('GET', `${pool.url}/v1/admin/sites/shop/pool`, { headers: auth })).body.leased as number;

  before(async () => {
    env = await createKafkaTestEnv('browser');
    const base = { ...env.env, ADMIN_TOKEN: ADMIN, PORT: '0', HTTP_HOST: '127.0.0.1', LOG_LEVEL: 'warn' };
    pool = await startNumberPool(loadNumberPoolConfig({ ...base, EXPIRY_SWEEP_INTERVAL_MS: '200' }));
    tracker = await startSessionTracker(loadSessionTrackerConfig({ ...base, LEASE_REPLY_TIMEOUT_MS: '5000' }));
    probe = await TopicProbe.start(env, ['poolCommands', 'poolEvents', 'sessions']);
    const put = await http('PUT', `${pool.url}/v1/admin/sites/shop`, {
      headers: auth,
      body: { name: 'Shop', country: 'RU', timeZone: 'Europe/Moscow', defaultNumber: '+7 (495) 123-45-67', otherSiteNumbers: ['8 800 555-35-35'], poolNumbers: POOL, leaseTtlSeconds: 120 },
    });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    await waitFor(async () => (await fetch(`${tracker.url}/v1/sites/shop/tracker.js`)).status === 200, { what: 'the site to reach session-tracker' });
    site = await new LandingSite(tracker.url).start();
    browser = await chromium.launch({
      executablePath: process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium',
      args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking'],
    });
  });

  after(async () => {
    await browser?.close();
    await site?.stop();
    await probe?.stop();
    await tracker?.close();
    await pool?.close();
  });

  it('is one small cross-origin script: gzipped under 5 KB, cacheable, CORS-open', async () => {
    const res = await fetch(`${tracker.url}/v1/sites/shop/tracker.js`, { headers: { 'accept-encoding': 'gzip' } });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /javascript/);
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
    assert.match(res.headers.get('cache-control') ?? '', /max-age=\d+/);
    const raw = await (await fetch(`${tracker.url}/v1/sites/shop/tracker.js`, { headers: { 'accept-encoding': 'identity' } })).text();
    const gz = await fetch(`${tracker.url}/v1/sites/shop/tracker.js`, { headers: { 'accept-encoding': 'gzip' }, decompress: false } as RequestInit);
    const compressed = Buffer.from(await gz.arrayBuffer());
    // fetch may decompress transparently; measure the gzip of the served bytes either way.
    const size = gz.headers.get('content-encoding') === 'gzip' && compressed[0] === 0x1f ? compressed.length : (await import('node:zlib')).gzipSync(raw).length;
    assert.ok(size <= 5 * 1024, `gzipped size ${size} bytes`);
    if (compressed[0] === 0x1f) assert.equal(gunzipSync(compressed).toString('utf8'), raw);
    const etag = res.headers.get('etag')!;
    assert.equal((await fetch(`${tracker.url}/v1/sites/shop/tracker.js`, { headers: { 'if-none-match': etag } })).status, 304);
    assert.equal((await fetch(`${tracker.url}/v1/sites/nowhere/tracker.js`)).status, 404);
  });

  it('replaces the number in every format, in tel: links and attributes, keeps the formatting, shifts no layout, under a strict CSP', async () => {
    const context = await newContext();
    const page = await context.newPage();
    await page.addInitScript(() => {
      (window as unknown as { __cls: number }).__cls = 0;
      new PerformanceObserver((list) => {
        for (const e of list.getEntries() as Array<PerformanceEntry & { value: number; hadRecentInput: boolean }>) if (!e.hadRecentInput) (window as unknown as { __cls: number }).__cls += e.value;
      }).observe({ type: 'layout-shift', buffered: true });
    });
    const errors = watchErrors(page);
    const started = page.waitForResponse((r) => r.url().endsWith('/v1/sessions') && r.request().method() === 'POST');
    await page.goto(`${site.url}/landing.html?utm_source=google&utm_medium=cpc&gclid=CjwKCAtest`);
    const answer = await (await started).json();
    assert.ok(POOL.includes(answer.number), `a pool number: ${JSON.stringify(answer)}`);
    const want = expected(answer.number);
    await waitFor(async () => (await text(page, 'compact')) === want.compact, { what: 'the number to be replaced' });
    for (const id of ['plus', 'eight', 'dashes', 'compact', 'split', 'nbsp', 'tollfree'] as const) assert.equal(await text(page, id), want[id], id);
    assert.equal(await page.locator('#split .code').textContent(), `+7 (${want.compact.slice(2, 5)})`, 'the split number keeps its tags');
    const link = page.locator('#tel');
    assert.equal(await link.getAttribute('href'), want.href);
    assert.equal(await link.getAttribute('title'), want.title);
    assert.equal(await link.getAttribute('data-phone'), want.dataPhone);
    assert.equal(await text(page, 'other'), 'Order 1234567 of 8 495 765-43-21', 'other numbers are left alone');
    assert.equal(await page.evaluate(() => (window as unknown as { inlineScriptRan?: boolean }).inlineScriptRan), undefined, 'the CSP is in force (inline scripts blocked)');
    assert.equal(await page.evaluate(() => (window as unknown as { __cls: number }).__cls), 0, 'no layout shift');
    assert.deepEqual(errors, []);

    // The session carries the landing page and the visitor's first-party id.
    const cookies = await context.cookies(site.url);
    const visitor = cookies.find((c) => c.name === '_ctvid')?.value;
    assert.equal(visitor, answer.visitorId);
    const session = await waitFor(() => probe.events('sessions').find((e) => e.type === 'SessionStarted' && e.payload.sessionId === answer.sessionId));
    assert.equal(session.type === 'SessionStarted' && session.payload.clickIds['gclid'], 'CjwKCAtest');

    // A single-page-app route change renders the number again: replaced too.
    await page.click('#route');
    await waitFor(async () => (await text(page, 'spa-number')) === want.spa, { what: 'the SPA content to be replaced' });
    assert.equal(await page.locator('#spa-number a').getAttribute('href'), `tel:8${want.compact.slice(2)}`);
    assert.equal(new URL(page.url()).pathname, '/contacts');
    await context.close();
  });

  it('two tabs of one visitor share one lease; a returning visitor sees their number before the network answers', async () => {
    const context = await newContext();
    const first = await context.newPage();
    await first.goto(`${site.url}/`);
    await waitFor(async () => POOL.includes(await shownNumber(first)), { what: 'the first tab to get a number' });
    const number = await shownNumber(first);
    const before = await leased();

    const second = await context.newPage();
    await second.goto(`${site.url}/`);
    await waitFor(async () => (await shownNumber(second)) === number, { what: 'the second tab to show the same number' });
    assert.equal(await leased(), before, 'the second tab took no second number');

    // Returning: the session API hangs, yet the number is there at once (from the stored live lease).
    const third = await context.newPage();
    await third.route('**/v1/sessions**', () => undefined);
    await third.goto(`${site.url}/`);
    await waitFor(async () => (await shownNumber(third)) === number, { what: 'the returning visitor to see their number', timeoutMs: 1500 });
    await context.close();
  });

  it('heartbeats while the page is visible, none while hidden, and the lease tail moves', async () => {
    const context = await newContext();
    const page = await context.newPage();
    const beats: number[] = [];
    page.on('request', (r) => {
      if (r.url().includes('/heartbeat')) beats.push(Date.now());
    });
    await page.goto(`${site.url}/`);
    await waitFor(async () => POOL.includes(await shownNumber(page)), { what: 'a number' });
    await waitFor(() => beats.length >= 2, { what: 'heartbeats while visible', timeoutMs: 10_000 });
    const leaseId = JSON.parse((await page.evaluate(() => localStorage.getItem('_ct_shop'))) ?? '{}').l as string;
    await waitFor(() => probe.events('poolEvents').some((e) => e.type === 'LeaseExtended' && e.payload.leaseId === leaseId), { what: 'number-pool to extend the lease', timeoutMs: 10_000 });

    // Hidden: the tracker's visibilitychange handler stops the heartbeats.
    await page.evaluate(() => {
      Object.defineProperty(document, 'visibilityState', { value: 'hidden', configurable: true });
      document.dispatchEvent(new Event('visibilitychange'));
    });
    const hiddenAt = Date.now();
    await new Promise((r) => setTimeout(r, 3500));
    assert.equal(beats.filter((t) => t > hiddenAt + 100).length, 0, 'no heartbeat while hidden');
    await page.evaluate(() => {
      Object.defineProperty(document, 'visibilityState', { value: 'visible', configurable: true });
      document.dispatchEvent(new Event('visibilitychange'));
    });
    await waitFor(() => beats.some((t) => t > hiddenAt + 3500), { what: 'a heartbeat once visible again' });
    await context.close();
  });

  it('keeps the site number, silently, when the service is down or too slow', async () => {
    const context = await newContext();
    const down = await context.newPage();
    const downErrors = watchErrors(down);
    await down.goto(`${site.url}/down.html`);
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(await text(down, 'plus'), '+7 (495) 123-45-67');
    assert.deepEqual(downErrors, []);

    const slow = await context.newPage();
    const slowErrors = watchErrors(slow);
    await slow.route('**/v1/sessions', () => undefined); // never answers
    await slow.goto(`${site.url}/`);
    await new Promise((r) => setTimeout(r, 3000)); // past the tracker's 2 s timeout
    assert.equal(await text(slow, 'plus'), '+7 (495) 123-45-67');
    assert.equal(await text(slow, 'compact'), '+74951234567');
    assert.deepEqual(slowErrors, []);
    await context.close();
  });
});
