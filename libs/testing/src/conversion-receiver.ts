import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';

export interface ReceivedConversion {
  idempotencyKey: string;
  body: Record<string, unknown>;
  /** When the receiver accepted it (ms since epoch). */
  atMs: number;
}

/**
 * A fake of the HTTP endpoint conversion-export delivers to. It enforces the
 * documented contract (docs/webhooks-conversions.md): JSON body with the
 * required fields, an Idempotency-Key, and a valid HMAC signature when a
 * secret is configured, and an Idempotency-Key that is the percent-encoded
 * "<siteId>:<callId>" of the body. Violations get 400/401 and are not recorded.
 */
export class ConversionReceiver {
  readonly received: ReceivedConversion[] = [];
  readonly rejected: Array<{ status: number; reason: string }> = [];
  /** Statuses to answer a call's deliveries with before accepting it (e.g. [503, 503], then 200), by call id. */
  readonly scripted = new Map<string, number[]>();
  /**
   * While set, every well-formed delivery is answered with this status (an endpoint that is
   * down), or not answered at all (`hang`: a black-holed endpoint; the sender has to time out).
   */
  outage: { status: number; retryAfter?: string } | { hang: true } | undefined;
  /** Every answer waits this long (a slow endpoint). */
  answerDelayMs = 0;
  /** Deliveries that met an `outage`. */
  outageAnswers = 0;
  private server: Server | undefined;
  url = '';

  constructor(private readonly secret?: string) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      void this.handle(req).then(({ status, body, headers }) => {
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(JSON.stringify(body));
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', () => r()));
    const address = this.server.address();
    this.url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/conversions`;
    return this;
  }

  private async handle(req: IncomingMessage): Promise<{ status: number; body: unknown; headers?: Record<string, string> }> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (this.answerDelayMs > 0) await new Promise((r) => setTimeout(r, this.answerDelayMs));
    const raw = Buffer.concat(chunks);
    const reject = (status: number, reason: string) => {
      this.rejected.push({ status, reason });
      return { status, body: { error: reason } };
    };
    if (req.method !== 'POST') return reject(405, 'method');
    if (!String(req.headers['content-type'] ?? '').startsWith('application/json')) return reject(415, 'content-type');
    const key = req.headers['idempotency-key'];
    if (typeof key !== 'string' || key.length === 0) return reject(400, 'missing Idempotency-Key');
    if (this.secret) {
      const ts = String(req.headers['x-calltrack-timestamp'] ?? '');
      const sig = String(req.headers['x-calltrack-signature'] ?? '');
      const expected = `v1=${createHmac('sha256', this.secret).update(`${ts}.`).update(raw).digest('hex')}`;
      if (!/^\d+$/.test(ts) || Math.abs(Date.now() / 1000 - Number(ts)) > 300) return reject(401, 'bad timestamp');
      if (sig.length !== expected.length || !timingSafeEqual(Buffer.from(sig), Buffer.from(expected))) return reject(401, 'bad signature');
    }
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
    } catch {
      return reject(400, 'invalid json');
    }
    for (const field of ['eventId', 'siteId', 'callId', 'startedAt', 'status']) {
      if (typeof body[field] !== 'string' || !body[field]) return reject(400, `missing ${field}`);
    }
    let decodedKey: string;
    try {
      decodedKey = decodeURIComponent(key);
    } catch {
      return reject(400, 'Idempotency-Key is not percent-encoded');
    }
    if (decodedKey !== `${String(body['siteId'])}:${String(body['callId'])}`) return reject(400, 'Idempotency-Key does not match siteId:callId');
    if (this.outage) {
      this.outageAnswers += 1;
      if ('hang' in this.outage) return new Promise(() => undefined);
      return {
        status: this.outage.status,
        body: { error: 'outage' },
        ...(this.outage.retryAfter ? { headers: { 'retry-after': this.outage.retryAfter } } : {}),
      };
    }
    const fail = this.scripted.get(String(body['callId']))?.shift();
    if (fail) return { status: fail, body: { error: 'scripted failure' } };
    this.received.push({ idempotencyKey: key, body, atMs: Date.now() });
    return { status: 200, body: { ok: true } };
  }

  /** Distinct Idempotency-Keys accepted: what a receiver that dedupes by key has stored. */
  distinctKeys(): Set<string> {
    return new Set(this.received.map((r) => r.idempotencyKey));
  }

  /** Conversions received for one call id. */
  forCall(callId: string): ReceivedConversion[] {
    return this.received.filter((r) => r.body['callId'] === callId);
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}
