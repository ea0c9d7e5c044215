import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';

export interface ReceivedConversion {
  idempotencyKey: string;
  body: Record<string, unknown>;
}

/**
 * A fake of the HTTP endpoint conversion-export delivers to. It enforces the
 * documented contract (docs/webhooks-conversions.md): JSON body with the
 * required fields, an Idempotency-Key, and a valid HMAC signature when a
 * secret is configured. Violations get 400/401 and are not recorded.
 */
export class ConversionReceiver {
  readonly received: ReceivedConversion[] = [];
  readonly rejected: Array<{ status: number; reason: string }> = [];
  /** Statuses to answer a call's deliveries with before accepting it (e.g. [503, 503], then 200), by call id. */
  readonly scripted = new Map<string, number[]>();
  private server: Server | undefined;
  url = '';

  constructor(private readonly secret?: string) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      void this.handle(req).then(({ status, body }) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', () => r()));
    const address = this.server.address();
    this.url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/conversions`;
    return this;
  }

  private async handle(req: IncomingMessage): Promise<{ status: number; body: unknown }> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
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
    const fail = this.scripted.get(String(body['callId']))?.shift();
    if (fail) return { status: fail, body: { error: 'scripted failure' } };
    this.received.push({ idempotencyKey: key, body });
    return { status: 200, body: { ok: true } };
  }

  /** Conversions received for one call id. */
  forCall(callId: string): ReceivedConversion[] {
    return this.received.filter((r) => r.body['callId'] === callId);
  }

  async stop(): Promise<void> {
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}
