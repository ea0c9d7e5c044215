import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { after, before, beforeEach, describe, it } from 'node:test';
import { idempotencyKey, percentEncode } from './conversion-payload.js';
import { deliver, DeliveryFailedError, retryAfterMs, type DeliveryPolicy } from './webhook-delivery.js';

describe('Idempotency-Key encoding', () => {
  it('keeps the keys of plain ids as they were', () => {
    assert.equal(idempotencyKey('shop', 'generic:8c1d-42'), 'shop:generic:8c1d-42');
    assert.equal(idempotencyKey('shop', "twilio:CA0f_~.!$&'()*+,;=@/"), "shop:twilio:CA0f_~.!$&'()*+,;=@/");
  });

  it('percent-encodes everything a header cannot carry, and "%" itself, one-to-one', () => {
    assert.equal(idempotencyKey('shop', 'telnyx:😀'), 'shop:telnyx:%F0%9F%98%80');
    assert.equal(percentEncode('é'), '%C3%A9');
    assert.equal(percentEncode('a b\r\n"x"'), 'a%20b%0D%0A%22x%22');
    assert.equal(percentEncode('100%'), '100%25');
    // "%41" as an id is not confused with "A".
    assert.notEqual(percentEncode('%41'), percentEncode('A'));
    for (const id of ['telnyx:😀', 'é', 'a b\r\n', '100%', '%41', 'Ж-ид', '\u0000\u00ff\u{10ffff}']) {
      const key = idempotencyKey('shop', id);
      assert.match(key, /^[\x21-\x7e]+$/, `${JSON.stringify(id)} gives a header-safe key`);
      assert.equal(decodeURIComponent(key), `shop:${id}`, 'a receiver gets the id back');
    }
  });
});

describe('Retry-After', () => {
  it('reads delay-seconds and HTTP dates, and ignores garbage', () => {
    assert.equal(retryAfterMs('3'), 3000);
    assert.equal(retryAfterMs(' 0 '), 0);
    assert.equal(retryAfterMs(new Date(10_000 + 7_000).toUTCString(), 10_000), 7000);
    assert.equal(retryAfterMs(new Date(0).toUTCString(), 10_000), 0);
    assert.equal(retryAfterMs('soon'), undefined);
    assert.equal(retryAfterMs(null), undefined);
  });
});

describe('deliver', () => {
  let server: Server;
  let url = '';
  let answers: Array<{ status: number; headers?: Record<string, string> }> = [];
  let requests: IncomingHttpHeaders[] = [];
  const policy = (p: Partial<DeliveryPolicy> = {}): DeliveryPolicy => ({ maxAttempts: 6, initialBackoffMs: 20, timeoutMs: 1000, roundTimeoutMs: 2000, ...p });

  before(async () => {
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        requests.push(req.headers);
        const a = answers.shift() ?? { status: 200 };
        res.writeHead(a.status, a.headers).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const address = server.address();
    url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/c`;
  });
  beforeEach(() => {
    answers = [];
    requests = [];
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  it('sends an encoded key of an emoji id', async () => {
    const result = await deliver(url, '{}', idempotencyKey('shop', 'telnyx:😀'), policy());
    assert.deepEqual(result, { httpStatus: 200, attempts: 1 });
    assert.equal(requests[0]!['idempotency-key'], 'shop:telnyx:%F0%9F%98%80');
  });

  it('refuses a key that is not a header value, without a request', async () => {
    const err = await deliver(url, '{}', 'shop:😀', policy()).catch((e: unknown) => e);
    assert.ok(err instanceof DeliveryFailedError);
    assert.equal(err.retryable, false);
    assert.equal(requests.length, 0);
  });

  it('does not retry a refusal (400), and retries 408/429/5xx', async () => {
    answers = [{ status: 400 }];
    const refused = await deliver(url, '{}', 'k', policy()).catch((e: unknown) => e);
    assert.ok(refused instanceof DeliveryFailedError);
    assert.deepEqual([refused.retryable, refused.attempts, refused.message], [false, 1, 'HTTP 400']);
    answers = [{ status: 408 }, { status: 429 }, { status: 500 }, { status: 503 }];
    assert.deepEqual(await deliver(url, '{}', 'k', policy()), { httpStatus: 200, attempts: 5 });
  });

  it('ends the round at its time limit, heartbeating while it waits', async () => {
    answers = Array.from({ length: 100 }, () => ({ status: 503 }));
    let heartbeats = 0;
    // Waits of 400 then 800 ms: the second can never fit in a 1 s round, whatever the machine's speed.
    const err = await deliver(url, '{}', 'k', policy({ maxAttempts: 20, initialBackoffMs: 400, roundTimeoutMs: 1000 }), async () => {
      heartbeats += 1;
    }).catch((e: unknown) => e);
    assert.ok(err instanceof DeliveryFailedError);
    assert.equal(err.retryable, true);
    assert.match(err.message, /^HTTP 503 \(round time limit reached\)$/);
    assert.ok(err.attempts === 1 || err.attempts === 2, `attempts ${err.attempts}`);
    assert.ok(heartbeats >= err.attempts - 1, 'a heartbeat before each further attempt');
  });

  it('waits for a Retry-After that fits in the round, and ends the round on one that does not', async () => {
    answers = [{ status: 429, headers: { 'retry-after': '1' } }];
    const started = Date.now();
    assert.deepEqual(await deliver(url, '{}', 'k', policy({ roundTimeoutMs: 3000 })), { httpStatus: 200, attempts: 2 });
    assert.ok(Date.now() - started >= 950, 'Retry-After was honoured');

    answers = [{ status: 503, headers: { 'retry-after': '120' } }];
    const err = await deliver(url, '{}', 'k', policy({ roundTimeoutMs: 3000 })).catch((e: unknown) => e);
    assert.ok(err instanceof DeliveryFailedError);
    assert.equal(err.retryable, true);
    assert.equal(err.attempts, 1);
    assert.match(err.message, /Retry-After 120 s is beyond this round/);
  });

  it('times a hanging request out at the end of the round', async () => {
    const hanging = createServer(() => undefined);
    await new Promise<void>((r) => hanging.listen(0, '127.0.0.1', () => r()));
    const address = hanging.address();
    const hangingUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/c`;
    try {
      const err = await deliver(hangingUrl, '{}', 'k', policy({ timeoutMs: 60_000, roundTimeoutMs: 600 })).catch((e: unknown) => e);
      assert.ok(err instanceof DeliveryFailedError);
      assert.equal(err.retryable, true);
      assert.match(err.message, /timed out after \d+ ms/);
    } finally {
      hanging.closeAllConnections();
      await new Promise<void>((r) => hanging.close(() => r()));
    }
  });
});
