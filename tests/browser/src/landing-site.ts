import { createServer, type Server } from 'node:http';

/**
 * Customers' landing pages on their own origin (http://localhost:<port>, while the
 * tracker is served from http://127.0.0.1:<other port>) with a strict CSP: no inline
 * script or style, scripts only from the site itself and the tracker's origin,
 * connections only to the tracker's API.
 *
 * Query parameters of a page shape its tag: `hb` the heartbeat interval in seconds
 * (data-heartbeat, default 1), `api` another API origin (data-api: a service that is
 * down or hangs), `src` another origin to load the script from, `twice` the tag twice.
 */
export class LandingSite {
  private server: Server | undefined;
  url = '';

  constructor(private readonly trackerOrigin: string) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname === '/favicon.ico') {
        res.writeHead(204).end();
        return;
      }
      if (url.pathname === '/app.js') {
        res.writeHead(200, { 'content-type': 'application/javascript' });
        res.end(SPA_SCRIPT);
        return;
      }
      // Single-page-app routes render on the client: the server answers them with the page they start from.
      const page = PAGES[url.pathname] ?? (url.pathname === '/contacts' ? PAGES['/']! : undefined);
      if (!page) {
        res.writeHead(404).end();
        return;
      }
      const src = url.searchParams.get('src') ?? this.trackerOrigin;
      const api = url.searchParams.get('api') ?? this.trackerOrigin;
      const csp = `default-src 'self'; script-src 'self' ${src}; connect-src ${api}; style-src 'self'; img-src 'self'`;
      const dataApi = api === this.trackerOrigin ? '' : ` data-api="${api}"`;
      const tag = `<script async src="${src}/v1/sites/${page.site}/tracker.js" data-heartbeat="${url.searchParams.get('hb') ?? '1'}"${dataApi}></script>`;
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': csp });
      // twice: the tag included twice (by hand and by a tag manager).
      const tags = url.searchParams.has('twice') ? tag + tag : tag;
      res.end(
        `<!doctype html><html><head><meta charset="utf-8"><title>Shop</title>${page.head ?? ''}${tags}<script src="/app.js"></script></head>` +
          `<body>${page.body}</body></html>`,
      );
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    this.url = `http://localhost:${typeof address === 'object' && address ? address.port : 0}`;
    return this;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }
}

interface Page {
  site: string;
  head?: string;
  body: string;
}

/** Site "shop" (RU): its own number +7 495 123-45-67 written the ways Russian sites write it, and its other number 8 800 555-35-35. */
const SHOP: Page = {
  site: 'shop',
  head: '<meta name="contact:phone_number" content="+7 495 123-45-67">',
  body: `
  <header><p id="plus">+7 (495) 123-45-67</p><p id="eight">8 495 123-45-67</p></header>
  <main>
    <p id="dashes">Call 8-495-1234567 today</p>
    <p id="compact">+74951234567</p>
    <p id="split"><span class="code">+7 (495)</span> <b>123-45-67</b></p>
    <p id="nbsp">8&nbsp;(495)&nbsp;123&nbsp;45&nbsp;67</p>
    <p id="spaced">8 (495) 123 45 67 (24/7)</p>
    <p id="two">+7 495 123 45 67 8 800 555 35 35</p>
    <a id="tel" href="tel:+74951234567" title="Call +7 495 123-45-67" aria-label="Call 8 495 123-45-67" data-phone="84951234567">Call us</a>
    <a id="web" href="https://maps.example/84951234567">Map</a>
    <p id="tollfree">8 800 555-35-35</p>
    <p id="other">Order 1234567 of 8 495 765-43-21, account 40817810849512345678</p>
    <p id="promo">Your code: <span data-calltrack-promo></span></p>
    <p id="later">Ask for the manager</p>
    <p id="spa-split"></p>
    <div id="spa"></div>
    <a id="tel-later" href="#">Call</a>
  </main>
  <script>window.inlineScriptRan = true;</script>
  <button id="route">Contacts</button><button id="more">More</button>`,
};

/** Site "us-shop" (US): (415) 555-0100 as American sites write it. */
const US_SHOP: Page = {
  site: 'us-shop',
  body: `
  <p id="us-parens">(415) 555-0100</p>
  <p id="us-plus">+1 415-555-0100</p>
  <p id="us-dots">415.555.0100</p>
  <p id="us-trunk">1-415-555-0100</p>
  <p id="us-split">Call <strong>+1 (415)</strong> <span>555 0100</span></p>
  <a id="us-tel" href="tel:+14155550100" aria-label="Call (415) 555-0100">Call</a>`,
};

/** Site "promo-shop": every visit gets a promo code next to the site's own number. */
const PROMO_SHOP: Page = {
  site: 'promo-shop',
  body: `
  <p id="promo-number">+7 (495) 200-00-00</p>
  <p id="promo-other">8 800 200-00-00</p>
  <p>Name this code when you call: <b id="promo-code" data-calltrack-promo>your code</b></p>
  <form id="order"><input type="hidden" name="calltrack_session_id"><input type="hidden" name="calltrack_visitor_id"><input name="phone"></form>
  <main><div id="spa"></div><a id="tel-later" href="#">Call</a></main>
  <button id="route">Contacts</button><button id="more">More</button>`,
};

const PAGES: Record<string, Page> = { '/': SHOP, '/landing.html': SHOP, '/us.html': US_SHOP, '/promo.html': PROMO_SHOP };

/**
 * The site's own app (served as a file: CSP forbids inline scripts). The "Contacts" route
 * renders new content with the number and rewrites an existing text; going back renders
 * the number split across inline tags into an existing block.
 */
const SPA_SCRIPT = `
document.addEventListener('DOMContentLoaded', function () {
  var route = document.getElementById('route');
  if (route) route.addEventListener('click', function () {
    history.pushState({}, '', '/contacts');
    var box = document.getElementById('spa');
    box.innerHTML = '<section id="contacts"><h2>Contacts</h2><p id="spa-number">Phone: <a href="tel:84951234567">8 (495) 123-45-67</a></p>'
      + '<p>Code: <i id="spa-promo" data-calltrack-promo></i></p></section>';
    var later = document.getElementById('later');
    if (later) later.firstChild.data = 'Manager: 8 495 123 45 67';
  });
  // Content that comes without a route change (a "show more" button, a widget).
  var more = document.getElementById('more');
  if (more) more.addEventListener('click', function () {
    var p = document.createElement('p');
    p.id = 'more-number';
    p.innerHTML = 'Sales: <span>+7 495</span> <span>123-45-67</span>';
    document.querySelector('main').appendChild(p);
    document.getElementById('tel-later').setAttribute('href', 'tel:84951234567');
    var promo = document.createElement('b');
    promo.id = 'more-promo';
    promo.setAttribute('data-calltrack-promo', '');
    document.querySelector('main').appendChild(promo);
    // A callback widget that renders its form later.
    var widget = document.createElement('form');
    widget.id = 'callback';
    widget.innerHTML = '<input type="hidden" name="calltrack_session_id"><input name="phone">';
    document.querySelector('main').appendChild(widget);
  });
  window.addEventListener('popstate', function () {
    var split = document.getElementById('spa-split');
    if (split) split.innerHTML = '<span>+7 (495)</span> <b>123-45-67</b>';
  });
});`;
