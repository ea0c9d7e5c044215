import net from 'node:net';

/**
 * A TCP proxy in front of the test broker that a test can switch to black-hole:
 * an outage of the broker for the clients behind it, without touching the shared
 * broker. Kafka clients connect to the addresses the broker advertises, so the
 * proxy rewrites the broker addresses in Metadata and FindCoordinator answers to
 * its own: every connection of a client that bootstraps through it stays on it.
 *
 * blackHole(): nothing is forwarded any more and new connections go nowhere (a
 * partitioned or frozen broker: requests hang, nothing is refused). restore():
 * the held connections are cut (the clients reconnect) and traffic flows again.
 */
export class KafkaOutageProxy {
  private readonly server: net.Server;
  private readonly pairs = new Set<{ client: net.Socket; upstream: net.Socket | undefined }>();
  private blackHoled = false;
  private port = 0;

  private constructor(
    private readonly upstreamHost: string,
    private readonly upstreamPort: number,
  ) {
    this.server = net.createServer((client) => this.accept(client));
  }

  /** Starts a proxy for the first of `brokers` ("host:port,...") on `port` of loopback (a free one by default). */
  static async start(brokers: string, port = 0): Promise<KafkaOutageProxy> {
    const [host, upstreamPort] = brokers.split(',')[0]!.trim().split(':');
    const proxy = new KafkaOutageProxy(host!, Number(upstreamPort));
    await new Promise<void>((resolve, reject) => {
      proxy.server.once('error', reject);
      proxy.server.listen(port, '127.0.0.1', () => resolve());
    });
    proxy.port = (proxy.server.address() as net.AddressInfo).port;
    return proxy;
  }

  /** KAFKA_BROKERS for a client that should go through the proxy. */
  get brokers(): string {
    return `127.0.0.1:${this.port}`;
  }

  blackHole(): void {
    this.blackHoled = true;
  }

  restore(): void {
    this.blackHoled = false;
    for (const pair of this.pairs) {
      pair.client.destroy();
      pair.upstream?.destroy();
    }
    this.pairs.clear();
  }

  async close(): Promise<void> {
    this.restore();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: net.Socket): void {
    const pair: { client: net.Socket; upstream: net.Socket | undefined } = { client, upstream: undefined };
    this.pairs.add(pair);
    const drop = () => {
      client.destroy();
      pair.upstream?.destroy();
      this.pairs.delete(pair);
    };
    client.on('error', drop);
    client.on('close', drop);
    // Black-holed: accepted (the client believes it is connected) and never answered.
    if (this.blackHoled) return;
    const upstream = net.connect(this.upstreamPort, this.upstreamHost);
    pair.upstream = upstream;
    upstream.on('error', drop);
    upstream.on('close', drop);
    // Request correlation id → (api key, version): answers are rewritten by what they answer.
    const asked = new Map<number, { apiKey: number; version: number }>();
    const toUpstream = new FrameReader((frame) => {
      if (frame.length >= 8) asked.set(frame.readInt32BE(4), { apiKey: frame.readInt16BE(0), version: frame.readInt16BE(2) });
      return frame;
    });
    const toClient = new FrameReader((frame) => {
      const correlationId = frame.readInt32BE(0);
      const request = asked.get(correlationId);
      asked.delete(correlationId);
      if (request?.apiKey === METADATA) return rewriteMetadata(frame, request.version, this.port);
      if (request?.apiKey === FIND_COORDINATOR) return rewriteFindCoordinator(frame, request.version, this.port);
      return frame;
    });
    client.on('data', (chunk: Buffer) => {
      if (this.blackHoled) return;
      for (const out of toUpstream.push(chunk)) upstream.write(out);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (this.blackHoled) return;
      for (const out of toClient.push(chunk)) client.write(out);
    });
  }
}

const METADATA = 3;
const FIND_COORDINATOR = 10;
/** Versions whose encoding this proxy knows (kafkajs uses Metadata ≤ 6 and FindCoordinator ≤ 2; flexible versions start later). */
const MAX_METADATA_VERSION = 8;
const MAX_FIND_COORDINATOR_VERSION = 2;

/** Splits a byte stream into Kafka frames (int32 size + body) and re-frames what `map` returns. */
class FrameReader {
  private buffer = Buffer.alloc(0);

  constructor(private readonly map: (body: Buffer) => Buffer) {}

  push(chunk: Buffer): Buffer[] {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    const out: Buffer[] = [];
    while (this.buffer.length >= 4) {
      const size = this.buffer.readInt32BE(0);
      if (this.buffer.length < 4 + size) break;
      const body = this.map(this.buffer.subarray(4, 4 + size));
      this.buffer = this.buffer.subarray(4 + size);
      const header = Buffer.alloc(4);
      header.writeInt32BE(body.length, 0);
      out.push(header, body);
    }
    return out;
  }
}

const PROXY_HOST = Buffer.from('127.0.0.1');

function hostAndPort(port: number): Buffer {
  const b = Buffer.alloc(2 + PROXY_HOST.length + 4);
  b.writeInt16BE(PROXY_HOST.length, 0);
  PROXY_HOST.copy(b, 2);
  b.writeInt32BE(port, 2 + PROXY_HOST.length);
  return b;
}

/** Metadata response (non-flexible versions): the brokers array's host and port become the proxy's. */
function rewriteMetadata(frame: Buffer, version: number, port: number): Buffer {
  if (version > MAX_METADATA_VERSION) throw new Error(`KafkaOutageProxy: Metadata v${version} is not supported`);
  let at = 4 + (version >= 3 ? 4 : 0); // correlation id, throttle time
  const count = frame.readInt32BE(at);
  at += 4;
  const parts: Buffer[] = [frame.subarray(0, at)];
  for (let i = 0; i < count; i += 1) {
    parts.push(frame.subarray(at, at + 4)); // node id
    at += 4;
    at += 2 + frame.readInt16BE(at) + 4; // host, port: replaced
    parts.push(hostAndPort(port));
    if (version >= 1) {
      const rackStart = at;
      const rack = frame.readInt16BE(at);
      at += 2 + Math.max(0, rack);
      parts.push(frame.subarray(rackStart, at));
    }
  }
  parts.push(frame.subarray(at));
  return Buffer.concat(parts);
}

/** FindCoordinator response (v0-v2): the coordinator's host and port become the proxy's. */
function rewriteFindCoordinator(frame: Buffer, version: number, port: number): Buffer {
  if (version > MAX_FIND_COORDINATOR_VERSION) throw new Error(`KafkaOutageProxy: FindCoordinator v${version} is not supported`);
  let at = 4;
  if (version >= 1) at += 4; // throttle time
  at += 2; // error code
  if (version >= 1) at += 2 + Math.max(0, frame.readInt16BE(at)); // error message
  at += 4; // node id
  const head = frame.subarray(0, at);
  at += 2 + frame.readInt16BE(at) + 4;
  return Buffer.concat([head, hostAndPort(port), frame.subarray(at)]);
}
