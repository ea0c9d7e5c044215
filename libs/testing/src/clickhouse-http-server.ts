import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { createChdbConnection, type ChdbConnection } from 'chdb/connection';

/** URL parameters of the ClickHouse HTTP interface that are not settings. */
const NOT_SETTINGS = new Set(['query', 'query_id', 'database', 'session_id', 'role', 'user', 'password']);

/**
 * A test-only ClickHouse HTTP interface over the embedded engine (chDB): enough of the protocol
 * for @clickhouse/client (queries with FORMAT, commands, INSERT … FORMAT with the rows in the
 * body, `param_*` bound parameters, settings as URL parameters, `database`, /ping), so that a
 * service runs in server mode (CLICKHOUSE_URL) against the real engine. Run it in its own
 * process (clickhouse-http-server.main.ts): SIGSTOP then makes a server that stops answering.
 */
export class ClickHouseHttpServer {
  private constructor(
    private readonly server: Server,
    private readonly connection: ChdbConnection,
    readonly url: string,
  ) {}

  static async start(dataDir: string, port = 0, host = '127.0.0.1'): Promise<ClickHouseHttpServer> {
    const connection = createChdbConnection({ path: dataDir });
    const server = createServer((req, res) => void handle(connection, req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    const address = server.address();
    const bound = typeof address === 'object' && address ? address.port : port;
    return new ClickHouseHttpServer(server, connection, `http://${host}:${bound}`);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await this.connection.close();
  }
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function handle(connection: ChdbConnection, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (url.pathname === '/ping') {
    res.writeHead(200, { 'content-type': 'text/plain' }).end('Ok.\n');
    return;
  }
  try {
    const body = await readBody(req);
    const fromUrl = url.searchParams.get('query');
    const settings: Record<string, string> = {};
    const params: Record<string, unknown> = {};
    const sqlText = (fromUrl ?? body) + '';
    for (const [k, v] of url.searchParams) {
      if (k.startsWith('param_')) {
        const name = k.slice('param_'.length);
        // The HTTP interface carries a parameter as ClickHouse text; chDB's binder takes values and
        // escapes strings itself, so an array's text (quoted, escaped elements) is read back into values.
        params[name] = new RegExp(`\\{${name}:\\s*Array\\(`).test(sqlText) ? arrayParam(v) : unescape(v);
      } else if (!NOT_SETTINGS.has(k)) settings[k] = v;
    }
    const database = url.searchParams.get('database');
    let query: string;
    let values: Readable | undefined;
    if (fromUrl !== null && body !== '') {
      // INSERT … FORMAT X in the URL, the rows in the body (the client qualifies the table).
      query = fromUrl;
      values = Readable.from([body]);
    } else {
      // The engine's one session keeps the last USE: the request's database is set per statement.
      query = (database && database !== 'default' ? `USE ${database}; ` : '') + (fromUrl ?? body);
    }
    const result = await connection.exec({
      query,
      ...(values ? { values } : {}),
      clickhouse_settings: settings,
      ...(Object.keys(params).length > 0 ? { query_params: params } : {}),
    } as Parameters<ChdbConnection['exec']>[0]);
    res.writeHead(200, { 'content-type': 'text/plain; charset=UTF-8', 'x-clickhouse-query-id': result.query_id });
    result.stream.pipe(res);
  } catch (err) {
    const e = err as { code?: string | number; type?: string; message?: string };
    const message = e.message ?? String(err);
    const text = message.startsWith('Code:') ? message : `Code: ${e.code ?? 1000}. DB::Exception: ${message}. (${e.type ?? 'UNKNOWN_EXCEPTION'})`;
    res.writeHead(500, { 'content-type': 'text/plain', 'x-clickhouse-exception-code': String(e.code ?? 1000) }).end(text + '\n');
  }
}

/** Reads a flat array in ClickHouse text (['a','b\\'c'] or [1,2]) into values for chDB's binder. */
function arrayParam(text: string): unknown[] {
  const inner = text.trim().replace(/^\[/, '').replace(/\]$/, '');
  const out: unknown[] = [];
  let i = 0;
  while (i < inner.length) {
    while (inner[i] === ' ' || inner[i] === ',') i++;
    if (i >= inner.length) break;
    if (inner[i] === "'") {
      let value = '';
      for (i++; i < inner.length && inner[i] !== "'"; i++) {
        if (inner[i] === '\\') {
          i++;
          const c = inner[i];
          value += c === 'n' ? '\n' : c === 't' ? '\t' : c === 'r' ? '\r' : c === '0' ? '\0' : (c ?? '');
        } else value += inner[i];
      }
      i++;
      out.push(value);
    } else {
      const end = inner.indexOf(',', i);
      const token = inner.slice(i, end < 0 ? inner.length : end).trim();
      i = end < 0 ? inner.length : end;
      const n = Number(token);
      out.push(Number.isSafeInteger(n) || !/^-?\d+$/.test(token) ? n : BigInt(token));
    }
  }
  return out;
}

/** A top-level parameter arrives escaped (backslash sequences): chDB's binder escapes it again, so it is unescaped first. */
function unescape(text: string): string {
  return text.replace(/\\(.)/gs, (_, c: string) => (c === 'n' ? '\n' : c === 't' ? '\t' : c === 'r' ? '\r' : c === '0' ? '\0' : c));
}
