import { totalmem } from 'node:os';
import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { ClickHouseError, ClickHouseLogLevel, createClient, type ClickHouseClient, type ClickHouseSettings } from '@clickhouse/client';
import { clickHouseMetrics, tableLabel } from './clickhouse-metrics.js';
import { acquireEngine, releaseEngine, type EmbeddedEngine } from './embedded-engine.js';

/** Options of {@link createClickHouse}. Without `url` the embedded chDB engine is used (loaded on first use: the optional package chdb). */
export interface ClickHouseOptions {
  /** HTTP(S) address of a ClickHouse server, e.g. `http://localhost:8123`. Omit for the embedded engine. */
  url?: string;
  username?: string;
  password?: string;
  /** Database that unqualified table names resolve to (default `default`). It must already exist. */
  database?: string;
  /** Embedded engine only: on-disk data directory (default: an ephemeral `:memory:` directory). */
  dataDir?: string;
  /** Per-query memory limit in bytes. Embedded default: half of the machine's RAM. */
  maxMemoryUsage?: number;
  /** Server mode: how long one request may take before the client gives up (the client's default: 30 s). Migrations raise it. */
  requestTimeoutMs?: number;
}

/** Options of {@link ClickHouse.command}. */
export interface CommandOptions {
  /**
   * Query-scoped settings (e.g. `max_execution_time`). Server mode only: the embedded engine
   * would apply them to its one shared session for every later statement, so they are not sent there.
   */
  serverSettings?: ClickHouseSettings;
}

/** Query parameters bound to `{name:Type}` placeholders (never interpolated into SQL). */
export type QueryParams = Record<string, unknown>;

/** Options of {@link ClickHouse.insertJsonEachRow}. */
export interface InsertOptions {
  /** `insert_deduplication_token`: a retried insert with the same token and data is dropped by the server. */
  dedupToken?: string;
}

export { EmbeddedEngineConflictError, EmbeddedEngineUnavailableError } from './embedded-engine.js';

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const TABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/;

function sqlString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** Serialises rows as JSONEachRow bytes. `bigint` is written as a string, which ClickHouse parses into (U)Int64/128/256. */
export function toJsonEachRow(rows: readonly object[]): Buffer {
  let body = '';
  for (const row of rows) body += JSON.stringify(row, bigintAsString) + '\n';
  return Buffer.from(body, 'utf8');
}

function bigintAsString(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}

/**
 * Thin wrapper over `@clickhouse/client` that runs the same SQL against a ClickHouse
 * server (HTTP) or the in-process chDB engine. Every failure is thrown.
 *
 * JSON results: 64-bit integers (UInt64, Int64, `count()`) come back as strings in both
 * modes; DateTime64 comes back as `'YYYY-MM-DD hh:mm:ss.sss'` in the column's time zone.
 */
export class ClickHouse {
  /** `http` for a server, `embedded` for chDB. */
  readonly mode: 'http' | 'embedded';
  /** Database that unqualified names resolve to. */
  readonly database: string;
  readonly #client: ClickHouseClient;
  readonly #engine: EmbeddedEngine | undefined;
  readonly #insertSettings: Record<string, string | number>;
  #closed = false;

  /** @internal Use {@link createClickHouse}. */
  constructor(options: ClickHouseOptions) {
    const database = options.database ?? 'default';
    if (!IDENTIFIER.test(database)) throw new Error(`invalid ClickHouse database name: ${JSON.stringify(database)}`);
    this.database = database;
    const maxMemoryUsage = options.maxMemoryUsage ?? (options.url ? undefined : Math.floor(totalmem() / 2));
    // Same JSON shape in both modes: newer engines (chDB 3.4 = ClickHouse 26.x) print
    // 64-bit integers as JSON numbers, which lose precision above 2^53.
    const settings: ClickHouseSettings = { output_format_json_quote_64bit_integers: 1 };
    if (maxMemoryUsage !== undefined) settings.max_memory_usage = String(maxMemoryUsage);
    // Inserts carry their settings inline (SETTINGS clause), so they are query-scoped in both modes.
    this.#insertSettings = { date_time_input_format: 'best_effort' };
    if (maxMemoryUsage !== undefined) this.#insertSettings.max_memory_usage = maxMemoryUsage;

    // Errors are thrown to the caller, who logs them; the client's own log would duplicate them.
    if (options.url) {
      this.mode = 'http';
      this.#engine = undefined;
      this.#client = createClient({
        url: options.url,
        username: options.username ?? 'default',
        password: options.password ?? '',
        database,
        clickhouse_settings: settings,
        ...(options.requestTimeoutMs === undefined ? {} : { request_timeout: options.requestTimeoutMs }),
        log: { level: ClickHouseLogLevel.OFF },
      });
    } else {
      this.mode = 'embedded';
      this.#engine = acquireEngine(options.dataDir);
      // chDB turns clickhouse_settings into `SET …;` on its one shared session, and
      // ignores the client's `database`; both are re-applied on every statement below.
      try {
        this.#client = createClient({
          connection: this.#engine.clientConnection,
          clickhouse_settings: settings,
          log: { level: ClickHouseLogLevel.OFF },
        });
      } catch (err) {
        void releaseEngine(this.#engine);
        throw err;
      }
    }
  }

  /** Runs a statement without a result (DDL, `INSERT … SELECT`). */
  async command(sql: string, params?: QueryParams, options: CommandOptions = {}): Promise<void> {
    this.#assertOpen();
    await this.#observed(() =>
      this.#client.command({
        query: this.#scoped(sql),
        ...(params ? { query_params: params } : {}),
        ...(options.serverSettings && !this.#engine ? { clickhouse_settings: options.serverSettings } : {}),
      }),
    );
  }

  /** Runs a query and returns its rows (JSONEachRow). */
  async query<T>(sql: string, params?: QueryParams): Promise<T[]> {
    this.#assertOpen();
    return this.#observed(async () => {
      const result = await this.#client.query({
        query: this.#scoped(sql),
        format: 'JSONEachRow',
        ...(params ? { query_params: params } : {}),
      });
      return result.json<T>();
    });
  }

  /**
   * Inserts rows serialised as one JSONEachRow payload. Unqualified table names resolve to
   * {@link ClickHouse.database}. Missing fields take the column DEFAULT; Dates are sent as ISO strings.
   */
  async insertJsonEachRow(table: string, rows: readonly object[], options: InsertOptions = {}): Promise<void> {
    this.#assertOpen();
    if (!TABLE_NAME.test(table)) throw new Error(`invalid ClickHouse table name: ${JSON.stringify(table)}`);
    if (rows.length === 0) return;
    const target = table.includes('.') ? table : `${this.database}.${table}`;
    // An empty token is sent explicitly: it overrides any token left in a shared chDB session,
    // which would otherwise make the server silently drop this insert as a duplicate.
    const settings = { ...this.#insertSettings, insert_deduplication_token: options.dedupToken ?? '' };
    const label = tableLabel(target);
    const started = process.hrtime.bigint();
    try {
      await this.#observed(() => this.#insert(target, settings, rows));
    } catch (err) {
      clickHouseMetrics().insertFailures.inc({ table: label });
      throw err;
    }
    clickHouseMetrics().insertRows.inc({ table: label }, rows.length);
    clickHouseMetrics().insertDuration.observe({ table: label }, Number(process.hrtime.bigint() - started) / 1e9);
  }

  async #insert(target: string, settings: Record<string, string | number>, rows: readonly object[]): Promise<void> {
    const payload = toJsonEachRow(rows);
    if (this.#engine) {
      // Zero-copy Buffer insert; the client's object insert would go through a JS string.
      const connection = await this.#engine.connection;
      await connection.chdb.rawInsert({ table: target, values: payload, format: 'JSONEachRow', settings });
      return;
    }
    const clause = Object.entries(settings)
      .map(([k, v]) => `${k} = ${typeof v === 'number' ? String(v) : sqlString(v)}`)
      .join(', ');
    const result = await this.#client.exec({
      query: `INSERT INTO ${target} SETTINGS ${clause} FORMAT JSONEachRow`,
      values: Readable.from([payload]),
    });
    result.stream.resume();
    await finished(result.stream);
  }

  /** Resolves when the server (or engine) answers `SELECT 1` with these credentials; throws otherwise. */
  async ping(): Promise<void> {
    this.#assertOpen();
    try {
      const result = await this.#client.ping({ select: true });
      if (!result.success) throw result.error;
    } catch (err) {
      clickHouseMetrics().up.set(0);
      throw err;
    }
    clickHouseMetrics().up.set(1);
  }

  /**
   * Readiness probe: true when the server (or engine) answers `SELECT 1` within `timeoutMs`.
   * A server that stops answering would otherwise hold the ping for the client's request
   * timeout (30 s); calltrack_clickhouse_up follows the answer.
   */
  async reachable(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<false>((resolve) => {
      timer = setTimeout(() => {
        clickHouseMetrics().up.set(0);
        resolve(false);
      }, timeoutMs);
    });
    try {
      return await Promise.race([
        this.ping().then(
          () => true,
          () => false,
        ),
        timedOut,
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * calltrack_clickhouse_up: 1 after any statement that succeeded; 0 after one that failed
   * without an answer from the server (connection refused, reset, timed out). An error the
   * server answered (bad SQL, a constraint) says nothing about its availability.
   */
  async #observed<T>(fn: () => Promise<T>): Promise<T> {
    try {
      const result = await fn();
      clickHouseMetrics().up.set(1);
      return result;
    } catch (err) {
      if (this.mode === 'http' && !(err instanceof ClickHouseError)) clickHouseMetrics().up.set(0);
      throw err;
    }
  }

  /** Releases the client. The embedded engine closes when its last user closes. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // Closing the client would close the shared chDB connection under other users.
    if (this.#engine) await releaseEngine(this.#engine);
    else await this.#client.close();
  }

  #scoped(sql: string): string {
    // The shared chDB session keeps the last USE; pin the database per statement
    // (chDB runs the prefixed statements together, so concurrent calls do not interleave).
    return this.#engine ? `USE ${this.database}; ${sql}` : sql;
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error('ClickHouse client is closed');
  }
}

/**
 * Opens ClickHouse over HTTP when `url` is set, otherwise the embedded chDB engine.
 * Only one embedded data directory may be open per process: asking for the same one
 * again shares the engine; asking for another throws {@link EmbeddedEngineConflictError}.
 */
export function createClickHouse(options: ClickHouseOptions = {}): ClickHouse {
  return new ClickHouse(options);
}
