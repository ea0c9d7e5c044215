import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { BatchWriter, createClickHouse, migrateDatabase, waitForSchema, type ClickHouse } from '@calltrack/clickhouse';
import { CONFIG, LOGGER, ReadinessService } from '@calltrack/service-kit';
import type { Logger } from '@calltrack/telemetry';
import type { LeaseCandidate, VisitSource } from '../matching/call-matching.js';
import { clickHouseConnection, migrateMode, MIGRATIONS_DIR } from './clickhouse-connection.js';
import type { AttributionConfig } from '../config.js';
import { CALL_VIEW_COLUMNS } from './row-mappers.js';
import type {
  AdCostRow,
  AttributionReportRow,
  CallCommentRow,
  CallRow,
  CallTagRow,
  ChannelReportRow,
  ConversionRevenueRow,
  CreditRow,
  EnquiryRow,
  LeadRow,
  LeaseRow,
  MarkovWeightRow,
  PromoRedemptionRow,
  RecomputeRunRow,
  SessionVerdictRow,
  SettingsRow,
  VisitRow,
} from './rows.js';
import { nullableNum, num, str, TIME } from './values.js';
import { ANALYTICS_COLUMNS, ORIGIN_COLUMNS, originOfColumns } from './origin-columns.js';

const DAY_MS = 86_400_000;
/** How far back a call looks for leases of its number: longer than any lease is held. */
export const LEASE_LOOKBACK_MS = 7 * DAY_MS;

interface TableRows {
  visits: VisitRow;
  leases: LeaseRow;
  session_verdicts: SessionVerdictRow;
  calls: CallRow;
  attribution_credits: CreditRow;
  promo_redemptions: PromoRedemptionRow;
  call_tags: CallTagRow;
  call_comments: CallCommentRow;
  attribution_settings: SettingsRow;
  markov_channel_weights: MarkovWeightRow;
  recompute_runs: RecomputeRunRow;
  enquiries: EnquiryRow;
  leads: LeadRow;
  ad_costs: AdCostRow;
  conversion_revenue: ConversionRevenueRow;
}
export type TableName = keyof TableRows;

/**
 * attribution's ClickHouse: opens the database (server over HTTP, or the embedded
 * engine), applies the migrations, and holds every read and write of the tables.
 */
@Injectable()
export class AttributionStore implements OnModuleInit, OnApplicationShutdown {
  #ch: ClickHouse | undefined;
  #migrated = false;
  /** The last health ping's answer (readiness `clickhouse`, calltrack_clickhouse_up). */
  #reachable = false;
  #health: NodeJS.Timeout | undefined;
  #closing = false;
  readonly #writers = new Map<TableName, BatchWriter<object>>();

  constructor(
    @Inject(CONFIG) private readonly config: AttributionConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly readiness: ReadinessService,
  ) {}

  // onModuleInit runs before any onApplicationBootstrap: the tables exist before a consumer starts.
  async onModuleInit(): Promise<void> {
    this.readiness.register('clickhouse_migrated', () => this.#migrated);
    this.readiness.register('clickhouse', () => this.#reachable);
    await this.open();
    this.#reachable = true;
    this.#watchHealth();
  }

  /**
   * Pings ClickHouse every CLICKHOUSE_HEALTH_INTERVAL_MS: while it does not answer the service is
   * not ready (consumers keep retrying their flushes, nothing is committed) and
   * calltrack_clickhouse_up is 0. Not a liveness matter: a restart would not bring ClickHouse back.
   */
  #watchHealth(): void {
    const interval = this.config.CLICKHOUSE_HEALTH_INTERVAL_MS;
    const check = async (): Promise<void> => {
      const ch = this.#ch;
      if (!ch) return;
      const reachable = await ch.reachable(Math.max(1000, interval));
      if (reachable !== this.#reachable)
        this.logger[reachable ? 'info' : 'error']({ event: reachable ? 'clickhouse_reachable' : 'clickhouse_unreachable', mode: ch.mode });
      this.#reachable = reachable;
      if (this.#ch) this.#health = setTimeout(() => void check(), interval).unref();
    };
    this.#health = setTimeout(() => void check(), interval).unref();
  }

  /**
   * Opens the database once its schema is what this build needs. Auto mode applies the pending
   * migrations itself (under the migration lock); wait mode (the default with a server) waits,
   * unready, until the migrations Job or `npm run migrate` has applied them.
   */
  async open(): Promise<void> {
    const c = this.config;
    const connection = clickHouseConnection(c);
    const mode = migrateMode(c);
    // Opened first: it keeps a shared embedded engine open while the migration clients come and go.
    const ch = createClickHouse({ ...connection, database: c.CLICKHOUSE_DATABASE });
    this.#closing = false;
    try {
      let applied: number[] = [];
      if (mode === 'auto') {
        applied = await migrateDatabase({
          connection,
          database: c.CLICKHOUSE_DATABASE,
          dir: MIGRATIONS_DIR,
          timeoutSeconds: c.CLICKHOUSE_MIGRATION_TIMEOUT_SECONDS,
          log: (event, fields) => this.logger.info({ event: event.replace(/\./g, '_'), ...fields }),
        });
      } else {
        const status = await waitForSchema(ch, MIGRATIONS_DIR, {
          isRunning: () => !this.#closing,
          onBehind: (s) =>
            this.logger.warn(
              { event: 'clickhouse_schema_waiting', database: c.CLICKHOUSE_DATABASE, required: s.required, applied: s.applied, missing: s.missing.slice(0, 5) },
              `waiting for schema version ${s.required} (the database has ${s.applied}): run the migrations (Helm migrations Job, or npm run migrate)`,
            ),
          onError: (err) => this.logger.warn({ event: 'clickhouse_schema_unreadable', database: c.CLICKHOUSE_DATABASE, err: (err as Error).message }),
        });
        if (!status.ready) throw new Error('stopped while waiting for the ClickHouse schema');
      }
      this.logger.info({ event: 'clickhouse_ready', mode: ch.mode, migrate: mode, database: c.CLICKHOUSE_DATABASE, applied });
    } catch (err) {
      await ch.close();
      throw err;
    }
    this.#ch = ch;
    this.#migrated = true;
  }

  /** True once the migrations are applied. */
  isMigrated(): boolean {
    return this.#migrated;
  }

  async onApplicationShutdown(): Promise<void> {
    // After every consumer drained (they stop in onModuleDestroy, which runs first).
    this.#closing = true;
    this.#migrated = false;
    clearTimeout(this.#health);
    const ch = this.#ch;
    this.#ch = undefined;
    await ch?.close();
  }

  #client(): ClickHouse {
    if (!this.#ch) throw new Error('ClickHouse is not open');
    return this.#ch;
  }

  /** A read for the other query providers of the service (parameters are bound, never interpolated). */
  async query<T = Record<string, unknown>>(sql: string, params?: Record<string, unknown>): Promise<T[]> {
    return this.#client().query<T>(sql, params);
  }

  /** Batched, idempotent insert: ClickHouse drops a repeat of the same token. */
  async write<T extends TableName>(table: T, rows: readonly TableRows[T][], dedupToken: string): Promise<void> {
    if (rows.length === 0) return;
    let writer = this.#writers.get(table);
    if (!writer) {
      writer = new BatchWriter<object>(this.#client(), { table });
      this.#writers.set(table, writer);
    }
    await writer.write(rows, dedupToken);
  }

  // ---- lookups of the consumers (one query per batch) ----

  /** Lease rows (latest version) by id, for the releases of a batch. */
  async leasesById(keys: ReadonlyArray<{ siteId: string; trackingNumber: string; leaseId: string }>): Promise<LeaseRow[]> {
    if (keys.length === 0) return [];
    const rows = await this.#client().query<Record<string, unknown>>(
      `SELECT event_id, site_id, lease_id, session_id, visitor_id, tracking_number,
              toUnixTimestamp64Milli(granted_at) AS granted_ms, toUnixTimestamp64Milli(expires_at) AS expires_ms,
              toUnixTimestamp64Milli(released_at) AS released_ms, version, promo_code
       FROM leases FINAL
       WHERE site_id IN {sites:Array(String)} AND tracking_number IN {numbers:Array(String)} AND lease_id IN {ids:Array(String)}`,
      { sites: unique(keys.map((k) => k.siteId)), numbers: unique(keys.map((k) => k.trackingNumber)), ids: unique(keys.map((k) => k.leaseId)) },
    );
    const toIso = (v: unknown): string | null => (v === null || v === undefined ? null : new Date(Number(v)).toISOString());
    return rows.map((r) => ({
      event_id: str(r['event_id']),
      site_id: str(r['site_id']),
      lease_id: str(r['lease_id']),
      session_id: str(r['session_id']),
      visitor_id: str(r['visitor_id']),
      tracking_number: str(r['tracking_number']),
      granted_at: toIso(r['granted_ms']),
      expires_at: toIso(r['expires_ms']),
      released_at: toIso(r['released_ms']),
      version: num(r['version']),
      promo_code: str(r['promo_code']),
    }));
  }

  /**
   * Leases (latest version) of the given site/number pairs granted in
   * [fromMs, toMs]; the caller picks per call. One query for a whole batch.
   * A lease released at its grant instant never reached its visitor (the grant came
   * after session-tracker had shown the default number and was given back): no candidate.
   */
  async leaseCandidates(pairs: ReadonlyArray<{ siteId: string; trackingNumber: string }>, fromMs: number, toMs: number): Promise<LeaseCandidate[]> {
    if (pairs.length === 0) return [];
    const rows = await this.#client().query<Record<string, unknown>>(
      `SELECT site_id, lease_id, session_id, visitor_id, tracking_number,
              toUnixTimestamp64Milli(granted_at) AS granted_ms, toUnixTimestamp64Milli(expires_at) AS expires_ms,
              toUnixTimestamp64Milli(released_at) AS released_ms
       FROM leases FINAL
       WHERE site_id IN {sites:Array(String)} AND tracking_number IN {numbers:Array(String)} AND tracking_number != ''
         AND granted_at >= ${TIME('from')} AND granted_at <= ${TIME('to')}
         AND (released_at IS NULL OR released_at > granted_at)`,
      { sites: unique(pairs.map((p) => p.siteId)), numbers: unique(pairs.map((p) => p.trackingNumber)), from: fromMs, to: toMs },
    );
    return rows.map((r) => ({
      siteId: str(r['site_id']),
      leaseId: str(r['lease_id']),
      sessionId: str(r['session_id']),
      visitorId: str(r['visitor_id']),
      trackingNumber: str(r['tracking_number']),
      grantedAtMs: num(r['granted_ms']),
      expiresAtMs: num(r['expires_ms']),
      releasedAtMs: nullableNum(r['released_ms']),
    }));
  }

  /** Visits by site and session that started in [fromMs, toMs], keyed `${siteId}\n${sessionId}`. */
  async visits(keys: ReadonlyArray<{ siteId: string; sessionId: string }>, fromMs: number, toMs: number): Promise<Map<string, VisitSource>> {
    const out = new Map<string, VisitSource>();
    if (keys.length === 0) return out;
    const rows = await this.#client().query<Record<string, unknown>>(
      `SELECT site_id, session_id, visitor_id, toUnixTimestamp64Milli(started_at) AS started_ms, ${ORIGIN_COLUMNS}, ${ANALYTICS_COLUMNS}
       FROM visits FINAL
       WHERE site_id IN {sites:Array(String)} AND session_id IN {sessions:Array(String)}
         AND started_at >= ${TIME('from')} AND started_at <= ${TIME('to')}`,
      { sites: unique(keys.map((k) => k.siteId)), sessions: unique(keys.map((k) => k.sessionId)), from: fromMs, to: toMs },
    );
    for (const r of rows) {
      out.set(`${str(r['site_id'])}\n${str(r['session_id'])}`, {
        sessionId: str(r['session_id']),
        visitorId: str(r['visitor_id']),
        startedAtMs: num(r['started_ms']),
        ...originOfColumns(r),
      });
    }
    return out;
  }

  // ---- reads of the HTTP API ----

  async call(siteId: string, callId: string): Promise<Record<string, unknown> | undefined> {
    const rows = await this.#client().query<Record<string, unknown>>(
      `SELECT ${CALL_VIEW_COLUMNS.join(', ')} FROM calls FINAL
       WHERE site_id = {site:String} AND call_id = {call:String}
       ORDER BY version DESC LIMIT 1`,
      { site: siteId, call: callId },
    );
    return rows[0];
  }

  /** Calls that started in [fromMs, toMs), newest first. */
  async calls(siteId: string, fromMs: number, toMs: number, limit: number): Promise<Array<Record<string, unknown>>> {
    return this.#client().query<Record<string, unknown>>(
      `SELECT ${CALL_VIEW_COLUMNS.join(', ')} FROM calls FINAL
       WHERE site_id = {site:String} AND started_at >= ${TIME('from')} AND started_at < ${TIME('to')}
       ORDER BY started_at DESC, call_id DESC
       LIMIT {limit:UInt32}`,
      { site: siteId, from: fromMs, to: toMs, limit },
    );
  }

  /**
   * One page of calls that started in [fromMs, toMs), newest first, after a keyset
   * cursor (the last row of the previous page): stable while new calls arrive.
   */
  async callsPage(
    siteId: string,
    fromMs: number,
    toMs: number,
    limit: number,
    after?: { startedAtMs: number; callId: string },
  ): Promise<Array<Record<string, unknown> & { started_at_ms: string; answered_at_ms: string | null; ended_at_ms: string | null }>> {
    return this.#client().query(
      `SELECT ${CALL_VIEW_COLUMNS.join(', ')}, toUnixTimestamp64Milli(started_at) AS started_at_ms,
              toUnixTimestamp64Milli(answered_at) AS answered_at_ms, toUnixTimestamp64Milli(ended_at) AS ended_at_ms FROM calls FINAL
       WHERE site_id = {site:String} AND started_at >= ${TIME('from')} AND started_at < ${TIME('to')}
         ${after ? `AND (started_at, call_id) < (${TIME('afterAt')}, {afterId:String})` : ''}
       ORDER BY started_at DESC, call_id DESC
       LIMIT {limit:UInt32}`,
      { site: siteId, from: fromMs, to: toMs, limit, ...(after ? { afterAt: after.startedAtMs, afterId: after.callId } : {}) },
    );
  }

  /**
   * Visits and calls per channel, utm_source and utm_medium in [fromMs, toMs). Visits
   * judged bots are left out; `calls` and `answered_calls` count non-spam calls,
   * `spam_calls` the rest. A call counts under the channel and tags it was credited to
   * (empty for unmatched calls).
   */
  async channelReport(siteId: string, fromMs: number, toMs: number): Promise<ChannelReportRow[]> {
    const rows = await this.#client().query<Record<string, unknown>>(
      `WITH
         v AS (SELECT channel, utm_source, utm_medium, count() AS visits
               FROM visits FINAL
               WHERE site_id = {site:String} AND started_at >= ${TIME('from')} AND started_at < ${TIME('to')}
                 AND session_id NOT IN (SELECT session_id FROM session_verdicts FINAL WHERE site_id = {site:String} AND verdict = 'bot')
               GROUP BY channel, utm_source, utm_medium),
         c AS (SELECT channel, utm_source, utm_medium,
                      countIf(verdict != 'spam') AS calls,
                      countIf(verdict != 'spam' AND (answered_at IS NOT NULL OR status IN ('answered', 'completed'))) AS answered_calls,
                      countIf(verdict = 'spam') AS spam_calls
               FROM calls FINAL
               WHERE site_id = {site:String} AND started_at >= ${TIME('from')} AND started_at < ${TIME('to')}
               GROUP BY channel, utm_source, utm_medium)
       SELECT channel, utm_source, utm_medium, v.visits AS visits, c.calls AS calls, c.answered_calls AS answered_calls, c.spam_calls AS spam_calls
       FROM v FULL OUTER JOIN c USING (channel, utm_source, utm_medium)
       ORDER BY calls DESC, visits DESC, channel, utm_source, utm_medium`,
      { site: siteId, from: fromMs, to: toMs },
    );
    return rows.map((r) => ({
      channel: str(r['channel']),
      utm_source: str(r['utm_source']),
      utm_medium: str(r['utm_medium']),
      visits: num(r['visits']),
      calls: num(r['calls']),
      answered_calls: num(r['answered_calls']),
      spam_calls: num(r['spam_calls']),
    }));
  }

  /**
   * Non-spam inbound calls that started in [fromMs, toMs), credited to channel and source
   * under one model: each call counts as the sum of its touches' credits (1 per call), so
   * a call shared by two sources counts half to each. Unmatched calls have no credits.
   */
  async attributionReport(siteId: string, model: string, fromMs: number, toMs: number): Promise<AttributionReportRow[]> {
    const rows = await this.#client().query<Record<string, unknown>>(
      `SELECT cr.channel AS channel, cr.utm_source AS utm_source, cr.utm_medium AS utm_medium,
              round(sum(cr.credit), 6) AS calls, round(sumIf(cr.credit, c.is_target = 1), 6) AS target_calls,
              round(sumIf(cr.credit, c.caller_type = 'first'), 6) AS first_calls
       FROM (SELECT call_id, channel, utm_source, utm_medium, credit FROM attribution_credits FINAL
             WHERE site_id = {site:String} AND model = {model:String} AND call_started_at >= ${TIME('from')} AND call_started_at < ${TIME('to')}) AS cr
       INNER JOIN (SELECT call_id, is_target, caller_type FROM calls FINAL
             WHERE site_id = {site:String} AND started_at >= ${TIME('from')} AND started_at < ${TIME('to')} AND verdict != 'spam'
               AND direction != 'outbound') AS c
       USING (call_id)
       GROUP BY channel, utm_source, utm_medium
       ORDER BY calls DESC, channel, utm_source, utm_medium`,
      { site: siteId, model, from: fromMs, to: toMs },
    );
    return rows.map((r) => ({
      channel: str(r['channel']),
      utm_source: str(r['utm_source']),
      utm_medium: str(r['utm_medium']),
      calls: num(r['calls']),
      target_calls: num(r['target_calls']),
      first_calls: num(r['first_calls']),
    }));
  }
}

function unique<T>(values: readonly T[]): T[] {
  return [...new Set(values)];
}
