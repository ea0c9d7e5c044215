// Test-only: the ClickHouse HTTP interface served by the embedded engine (chDB), so that
// services in server mode (CLICKHOUSE_URL) run their real @clickhouse/client HTTP path
// against the real engine, several of them on one engine, as they do against a server in
// production. Never shipped: libs/testing is not part of the production image.
//
// What it serves (what @clickhouse/client 1.x sends and parses; ClickHouse's HTTP docs):
// - GET / and GET|HEAD /ping → "Ok.\n".
// - GET|POST / with the query in `query` (URL), in the body, or its beginning in `query`
//   and the rest (INSERT data) in the body, joined by a line feed; GET runs readonly=2.
// - `database`, `default_format`, `query_id`; `param_<name>` bound to `{name:Type}`
//   placeholders from their escaped text exactly as the server parses it (SET param_…);
//   every other URL parameter is a setting of that query only (unknown → UNKNOWN_SETTING).
// - multipart/form-data bodies (`query`, `param_*`: the client's long parameters).
// - gzip/deflate/br request bodies (Content-Encoding) and responses (enable_http_compression=1
//   and Accept-Encoding).
// - credentials: Basic auth, X-ClickHouse-User/-Key headers or user/password parameters.
// - success: 200, X-ClickHouse-Query-Id, -Format, -Timezone, -Server-Display-Name, -Summary;
//   failure: the engine's "Code: N. DB::Exception: … (TYPE) (version …)" text, the
//   X-ClickHouse-Exception-Code header, and the server's HTTP status for that code.
// Each query runs in a fresh engine session, so settings and parameters never leak from one
// request into the next (as with a server, where every HTTP query has its own context).
// Not served: HTTP sessions (session_id), progress headers, streaming of large results
// (results are materialised), written_rows in the summary (the engine does not report it).
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { createBrotliCompress, createBrotliDecompress, createDeflate, createGunzip, createGzip, createInflate } from 'node:zlib';
import { pipeline } from 'node:stream/promises';
import { Readable, type Transform } from 'node:stream';
import { loadChdb } from '@calltrack/clickhouse';

export interface ClickHouseHttpServerOptions {
  /** Data directory of the embedded engine; in a test process, the directory its other clients use. */
  dataDir: string;
  /** Accepted credentials (user → password). Default: `default` with an empty password. */
  users?: Record<string, string>;
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /** Largest request body accepted (default 256 MiB). */
  maxBodyBytes?: number;
}

export interface ClickHouseHttpServer {
  /** e.g. `http://127.0.0.1:41234` — what CLICKHOUSE_URL is set to. */
  readonly url: string;
  readonly port: number;
  /** Queries answered so far (successes and failures), to show that traffic went over HTTP. */
  readonly queries: number;
  close(): Promise<void>;
}

// ClickHouse's HTTP status per exception type (src/Server/HTTP/exceptionCodeToHTTPStatus.cpp).
const STATUS_BY_TYPE = new Map<string, number>([
  ['REQUIRED_PASSWORD', 401],
  ...['UNKNOWN_USER', 'WRONG_PASSWORD', 'AUTHENTICATION_FAILED', 'SET_NON_GRANTED_ROLE', 'ACCESS_DENIED'].map((t) => [t, 403] as const),
  ...[
    'BAD_ARGUMENTS',
    'CANNOT_COMPILE_REGEXP',
    'CANNOT_PARSE_TEXT',
    'CANNOT_PARSE_ESCAPE_SEQUENCE',
    'CANNOT_PARSE_QUOTED_STRING',
    'CANNOT_PARSE_DATE',
    'CANNOT_PARSE_DATETIME',
    'CANNOT_PARSE_NUMBER',
    'CANNOT_PARSE_DOMAIN_VALUE_FROM_STRING',
    'CANNOT_PARSE_IPV4',
    'CANNOT_PARSE_IPV6',
    'CANNOT_PARSE_INPUT_ASSERTION_FAILED',
    'CANNOT_PARSE_UUID',
    'DUPLICATE_COLUMN',
    'ILLEGAL_COLUMN',
    'UNKNOWN_ELEMENT_IN_AST',
    'UNKNOWN_TYPE_OF_AST_NODE',
    'THERE_IS_NO_COLUMN',
    'TOO_DEEP_AST',
    'TOO_BIG_AST',
    'UNEXPECTED_AST_STRUCTURE',
    'SYNTAX_ERROR',
    'INCORRECT_DATA',
    'TYPE_MISMATCH',
    'VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE',
  ].map((t) => [t, 400] as const),
  ...[
    'UNKNOWN_TABLE',
    'UNKNOWN_FUNCTION',
    'UNKNOWN_IDENTIFIER',
    'UNKNOWN_TYPE',
    'UNKNOWN_STORAGE',
    'UNKNOWN_DATABASE',
    'UNKNOWN_SETTING',
    'UNKNOWN_DIRECTION_OF_SORTING',
    'UNKNOWN_AGGREGATE_FUNCTION',
    'UNKNOWN_FORMAT',
    'UNKNOWN_DATABASE_ENGINE',
    'UNKNOWN_TYPE_OF_QUERY',
    'UNKNOWN_ROLE',
  ].map((t) => [t, 404] as const),
  ['QUERY_IS_TOO_LARGE', 413],
  ['NOT_IMPLEMENTED', 501],
  ['SOCKET_TIMEOUT', 503],
  ['CANNOT_OPEN_FILE', 503],
  ['CANNOT_SCHEDULE_TASK', 503],
  ['HTTP_LENGTH_REQUIRED', 411],
  ['TIMEOUT_EXCEEDED', 408],
  ['UNSUPPORTED_MEDIA_TYPE', 415],
]);

// URL parameters of the HTTP layer itself; everything else is a query setting.
const HTTP_PARAMETERS = new Set([
  'query',
  'database',
  'default_format',
  'query_id',
  'user',
  'password',
  'quota_key',
  'role',
  'compress',
  'decompress',
  'buffer_size',
]);
// Settings the HTTP layer consumes (the engine has no use for them).
const HTTP_ONLY_SETTINGS = new Set([
  'wait_end_of_query',
  'send_progress_in_http_headers',
  'http_headers_progress_interval_ms',
  'http_response_buffer_size',
  'http_send_progress_interval_ms',
  'enable_http_compression',
  'http_zlib_compression_level',
  'http_native_compression_disable_checksumming_on_decompress',
  'cancel_http_readonly_queries_on_client_close',
]);
const SETTING_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const CONTENT_TYPES: Record<string, string> = {
  TabSeparated: 'text/tab-separated-values; charset=UTF-8',
  TSV: 'text/tab-separated-values; charset=UTF-8',
  CSV: 'text/csv; charset=UTF-8; header=absent',
  JSON: 'application/json; charset=UTF-8',
  JSONCompact: 'application/json; charset=UTF-8',
  JSONEachRow: 'application/x-ndjson; charset=UTF-8',
  JSONCompactEachRow: 'application/x-ndjson; charset=UTF-8',
};

class HttpFailure extends Error {
  constructor(
    readonly code: number,
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

function sqlLiteral(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

function credentials(req: IncomingMessage, url: URL): { user: string; password: string } {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Basic ')) {
    const decoded = Buffer.from(auth.slice(6), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon < 0 ? { user: decoded, password: '' } : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  if (auth) throw new HttpFailure(516, 'AUTHENTICATION_FAILED', 'Only Basic authentication is supported by this server');
  const header = req.headers['x-clickhouse-user'];
  if (typeof header === 'string') {
    const key = req.headers['x-clickhouse-key'];
    return { user: header, password: typeof key === 'string' ? key : '' };
  }
  return { user: url.searchParams.get('user') ?? 'default', password: url.searchParams.get('password') ?? '' };
}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const encoding = String(req.headers['content-encoding'] ?? '').toLowerCase();
  let decoder: Transform | undefined;
  if (encoding === 'gzip') decoder = createGunzip();
  else if (encoding === 'deflate') decoder = createInflate();
  else if (encoding === 'br') decoder = createBrotliDecompress();
  else if (encoding !== '' && encoding !== 'identity') throw new HttpFailure(779, 'UNSUPPORTED_MEDIA_TYPE', `Unknown Content-Encoding: ${encoding}`);
  const chunks: Buffer[] = [];
  let size = 0;
  const source: AsyncIterable<Buffer> = decoder ? req.pipe(decoder) : req;
  for await (const chunk of source) {
    size += chunk.length;
    if (size > limit) throw new HttpFailure(229, 'QUERY_IS_TOO_LARGE', `Request body is larger than ${limit} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** The trailing FORMAT clause of a statement, for the X-ClickHouse-Format header. */
function formatOf(sql: string, fallback: string): string {
  const m = /\bFORMAT\s+([A-Za-z][A-Za-z0-9_]*)\s*;?\s*$/i.exec(sql.slice(-200));
  return m?.[1] ?? fallback;
}

/** Starts the server on the embedded engine of `dataDir` (loaded here, on first use). */
export async function startClickHouseHttpServer(options: ClickHouseHttpServerOptions): Promise<ClickHouseHttpServer> {
  const { chdb } = await loadChdb();
  const dataDir = resolve(options.dataDir);
  const users = options.users ?? { default: '' };
  const maxBodyBytes = options.maxBodyBytes ?? 256 * 1024 * 1024;
  // Held open for the server's life: the engine stays up between the per-request sessions.
  const anchor = new chdb.Session(dataDir);
  const info = (await anchor.queryAsync('SELECT version() AS v, timezone() AS tz', { format: 'JSONEachRow' })).json<{ v: string; tz: string }>();
  const version = info.v;
  const timezone = info.tz;
  let queries = 0;

  const failureText = (err: HttpFailure): string => `Code: ${err.code}. DB::Exception: ${err.message}. (${err.type}) (version ${version})\n`;

  async function run(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const { user, password } = credentials(req, url);
    if (!(user in users) || users[user] !== password) {
      throw new HttpFailure(516, 'AUTHENTICATION_FAILED', `${user}: Authentication failed: password is incorrect, or there is no user with such name`);
    }
    if (url.searchParams.has('session_id')) throw new HttpFailure(48, 'NOT_IMPLEMENTED', 'HTTP sessions (session_id) are not served by this test server');
    const params = new Map<string, string>();
    let query = url.searchParams.get('query') ?? '';
    if (req.method === 'POST') {
      const body = await readBody(req, maxBodyBytes);
      const contentType = String(req.headers['content-type'] ?? '');
      if (contentType.startsWith('multipart/form-data')) {
        const form = await new Response(body, { headers: { 'content-type': contentType } }).formData();
        for (const [name, value] of form.entries()) {
          if (typeof value !== 'string') continue;
          if (name === 'query') query = query ? `${query}\n${value}` : value;
          else if (name.startsWith('param_')) params.set(name.slice(6), value);
        }
      } else if (body.length > 0) {
        query = query ? `${query}\n${body.toString('utf8')}` : body.toString('utf8');
      }
    }
    if (query.trim() === '') throw new HttpFailure(62, 'SYNTAX_ERROR', 'Empty query');

    const statements: string[] = [];
    for (const [name, value] of url.searchParams) {
      if (name.startsWith('param_')) params.set(name.slice(6), value);
      else if (!HTTP_PARAMETERS.has(name) && !HTTP_ONLY_SETTINGS.has(name) && name !== 'session_id') {
        if (!SETTING_NAME.test(name)) throw new HttpFailure(115, 'UNKNOWN_SETTING', `Unknown setting '${name}'`);
        statements.push(`SET ${name} = ${sqlLiteral(value)}`);
      }
    }
    // A GET changes nothing (ClickHouse runs it with readonly=2: settings may still change).
    if (req.method !== 'POST') statements.push('SET readonly = 2');
    for (const [name, value] of params) {
      if (!SETTING_NAME.test(name)) throw new HttpFailure(36, 'BAD_ARGUMENTS', `Invalid query parameter name '${name}'`);
      // The parameter's text stays as sent; the engine parses it for the placeholder's type.
      statements.push(`SET param_${name} = ${sqlLiteral(value)}`);
    }
    const database = url.searchParams.get('database');
    if (database) {
      if (!SETTING_NAME.test(database)) throw new HttpFailure(81, 'UNKNOWN_DATABASE', `Database ${database} does not exist`);
      statements.push(`USE ${database}`);
    }
    const defaultFormat = url.searchParams.get('default_format') ?? 'TabSeparated';
    const format = formatOf(query, defaultFormat);
    const queryId = url.searchParams.get('query_id') || randomUUID();

    const session = new chdb.Session(dataDir);
    let result;
    try {
      result = await session.queryAsync([...statements, query].join(';\n'), { format: defaultFormat });
    } finally {
      session.close();
    }
    const elapsedNs = String(Math.round(result.elapsed * 1e9));
    const bytes = Buffer.from(result.bytes());
    const summary = {
      read_rows: String(result.rowsRead),
      read_bytes: String(result.bytesRead),
      written_rows: '0',
      written_bytes: '0',
      total_rows_to_read: '0',
      result_rows: '0',
      result_bytes: String(bytes.length),
      elapsed_ns: elapsedNs,
    };
    res.setHeader('X-ClickHouse-Query-Id', queryId);
    res.setHeader('X-ClickHouse-Format', format);
    res.setHeader('X-ClickHouse-Timezone', timezone);
    res.setHeader('X-ClickHouse-Server-Display-Name', 'chdb-http-test-server');
    res.setHeader('X-ClickHouse-Summary', JSON.stringify(summary));
    res.setHeader('Content-Type', CONTENT_TYPES[format] ?? 'text/plain; charset=UTF-8');
    const accept = String(req.headers['accept-encoding'] ?? '');
    const compress = url.searchParams.get('enable_http_compression') === '1';
    const codec = compress ? ['gzip', 'deflate', 'br'].find((c) => accept.includes(c)) : undefined;
    res.statusCode = 200;
    if (!codec) {
      res.end(bytes);
      return;
    }
    res.setHeader('Content-Encoding', codec);
    const encoder = codec === 'gzip' ? createGzip() : codec === 'deflate' ? createDeflate() : createBrotliCompress();
    await pipeline(Readable.from([bytes]), encoder, res);
  }

  const server = createServer(
    // ClickHouse accepts URLs up to 1 MiB (http_max_uri_size): long parameter lists travel in the URL.
    { maxHeaderSize: 1024 * 1024, keepAliveTimeout: 10_000, requestTimeout: 0 },
    (req, res) => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (url.pathname === '/ping' || (url.pathname === '/' && req.method === 'GET' && !url.searchParams.has('query'))) {
        res.writeHead(200, { 'Content-Type': 'text/html; charset=UTF-8' }).end('Ok.\n');
        return;
      }
      if (url.pathname !== '/' || (req.method !== 'GET' && req.method !== 'POST')) {
        res.writeHead(404, { 'Content-Type': 'text/plain; charset=UTF-8' }).end(`There is no handle ${url.pathname}\n\nUse / or /ping for health checks.\n`);
        return;
      }
      queries += 1;
      run(req, res, url).catch((err: unknown) => {
        const failure = toFailure(err);
        if (res.headersSent) {
          res.destroy(failure);
          return;
        }
        res.writeHead(STATUS_BY_TYPE.get(failure.type) ?? 500, {
          'Content-Type': 'text/plain; charset=UTF-8',
          'X-ClickHouse-Exception-Code': String(failure.code),
        });
        res.end(failureText(failure));
      });
    },
  );
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => ok());
  });
  const port = (server.address() as AddressInfo).port;
  const host = options.host && options.host !== '0.0.0.0' ? options.host : '127.0.0.1';

  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    get queries() {
      return queries;
    },
    async close() {
      server.closeIdleConnections();
      await new Promise<void>((ok) => server.close(() => ok()));
      anchor.close();
    },
  };
}

function toFailure(err: unknown): HttpFailure {
  if (err instanceof HttpFailure) return err;
  const message = err instanceof Error ? err.message : String(err);
  // The engine's own text: "Code: 60. DB::Exception: Unknown table … (UNKNOWN_TABLE)".
  const m = /^Code: (\d+)\. DB::Exception: ([\s\S]*?)\.? \(([A-Z0-9_]+)\)\s*$/.exec(message.trim());
  if (m) return new HttpFailure(Number(m[1]), m[3]!, m[2]!);
  return new HttpFailure(1001, 'STD_EXCEPTION', message);
}
