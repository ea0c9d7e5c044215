import { createServer, type Server } from 'node:http';

/**
 * A customer's landing site on its own origin (http://localhost:<port>, while the
 * tracker is served from http://127.0.0.1:<other port>) with a strict CSP: no
 * inline script or style, scripts only from itself and the tracker origin.
 */
export class LandingSite {
  private server: Server | undefined;
  url = '';

  constructor(private readonly trackerOrigin: string) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      const trackerSrc = path === '/down.html' ? `${DOWN_ORIGIN}/v1/sites/shop/tracker.js` : `${this.trackerOrigin}/v1/sites/shop/tracker.js`;
      const origin = path === '/down.html' ? DOWN_ORIGIN : this.trackerOrigin;
      const csp = `default-src 'self'; script-src 'self' ${origin}; connect-src ${origin}; style-src 'self'; img-src 'self'`;
      if (path === '/app.js') {
        res.writeHead(200, { 'content-type': 'application/javascript' });
        res.end(SPA_SCRIPT);
        return;
      }
      const page = PAGES[path];
      if (!page) {
        res.writeHead(404).end();
        return;
      }
      const tag = (src: string) => `<script async src="${src}" data-heartbeat="1"></script>`;
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': csp });
      res.end(`<!doctype html><html><head><meta charset="utf-8"><title>Shop</title>${tag(trackerSrc)}<script src="/app.js"></script></head><body>${page}</body></html>`);
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

/** Nothing listens there: the tracker's service is down. */
const DOWN_ORIGIN = 'http://127.0.0.1:9';

/** The site's own number +7 495 123-45-67 written the ways Russian sites write it, and 8 800 555-35-35. */
const NUMBERS = `
  <header><p id="plus">+7 (495) 123-45-67</p><p id="eight">8 495 123-45-67</p></header>
  <main>
    <p id="dashes">Call 8-495-1234567 today</p>
    <p id="compact">+74951234567</p>
    <p id="split"><span class="code">+7 (495)</span> <b>123-45-67</b></p>
    <p id="nbsp">8&nbsp;(495)&nbsp;123&nbsp;45&nbsp;67</p>
    <a id="tel" href="tel:+74951234567" title="Call +7 495 123-45-67" data-phone="84951234567">Call us</a>
    <p id="tollfree">8 800 555-35-35</p>
    <p id="other">Order 1234567 of 8 495 765-43-21</p>
    <p id="promo">Your code: <span data-calltrack-promo></span></p>
    <div id="spa"></div>
  </main>
  <script>window.inlineScriptRan = true;</script>
  <button id="route">Contacts</button>`;

const PAGES: Record<string, string> = { '/': NUMBERS, '/landing.html': NUMBERS, '/down.html': NUMBERS };

/** The site's own app: a route change that renders new content with the number (served as a file: CSP forbids inline scripts). */
const SPA_SCRIPT = `
document.addEventListener('DOMContentLoaded', function () {
  document.getElementById('route').addEventListener('click', function () {
    history.pushState({}, '', '/contacts');
    var box = document.getElementById('spa');
    box.innerHTML = '<section id="contacts"><h2>Contacts</h2><p id="spa-number">Phone: <a href="tel:84951234567">8 (495) 123-45-67</a></p></section>';
  });
});`;
