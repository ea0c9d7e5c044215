import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { fileURLToPath } from 'node:url';
import { BatchWriter, createClickHouse, runMigrations, type ClickHouse } from '@calltrack/clickhouse';
import { CONFIG, LOGGER } from '@calltrack/service-kit';
import type { Logger } from '@calltrack/telemetry';
import type { AttributionConfig } from './config.js';
import type { LeaseCandidate } from './lease-matching.js';

const MIGRATIONS_DIR = fileURLToPath(new URL('../migrations/', import.meta.url));

export type Row = Record<string, unknown>;
export type TableName = 'visits' | 'leases' | 'lease_releases' | 'session_verdicts' | 'calls';

export interface VisitSource {
  sessionId: string;
  visitorId: string;
  utmSource: string;
  utmMedium: string;
  utmCampaign: string;
  utmContent: string;
  utmTerm: string;
  referrer: string;
  landingPage: string;
  clickIds: Record<string, string>;
  analyticsIds: { gaClientId: string; ymUid: string; fbp: string; fbc: string };
}

const ms = (v: unknown): number => Number(v ?? 0);

/** attribution's ClickHouse: the only store of the platform's reporting tables. */
@Injectable()
export class AttributionStore implements OnModuleDestroy {
  private ch: ClickHouse | undefined;
  private readonly writers = new Map<TableName, BatchWriter<Row>>();
  private migrated = false;

  constructor(
    @Inject(CONFIG) private readonly config: AttributionConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** Creates the database if needed and applies the numbered migrations. */
  async open(): Promise<void> {
    const c = this.config;
    const connection = c.CLICKHOUSE_URL
      ? { url: c.CLICKHOUSE_URL, username: c.CLICKHOUSE_USER, password: c.CLICKHOUSE_PASSWORD }
      : { dataDir: c.CLICKHOUSE_DATA_DIR };
    const admin = createClickHouse({ ...connection, database: 'default' });
    try {
      await admin.command(`CREATE DATABASE IF NOT EXISTS ${c.CLICKHOUSE_DATABASE}`);
    } finally {
      await admin.close();
    }
    this.ch = createClickHouse({ ...connection, database: c.CLICKHOUSE_DATABASE });
    const applied = await runMigrations(this.ch, MIGRATIONS_DIR, (event, fields) => this.logger.info({ event, ...fields }));
    this.migrated = true;
    this.logger.info({ event: 'clickhouse_ready', mode: this.ch.mode, database: c.CLICKHOUSE_DATABASE, applied });
  }

  isReady(): boolean {
    return this.migrated;
  }

  private client(): ClickHouse {
    if (!this.ch) throw new Error('ClickHouse is not open');
    return this.ch;
  }

  async onModuleDestroy(): Promise<void> {
    await this.ch?.close();
  }

  /** Batched, idempotent insert: the same token (a batch's topic, partition and offsets) never inserts twice. */
  async write(table: TableName, rows: Row[], dedupToken: string): Promise<void> {
    if (rows.length === 0) return;
    let writer = this.writers.get(table);
    if (!writer) {
      writer = new BatchWriter<Row>(this.client(), { table });
      this.writers.set(table, writer);
    }
    await writer.write(rows, dedupToken);
  }

  /** Leases of a number granted at or before a time, latest first, with their release if recorded. */
  async leaseCandidates(siteId: string, trackingNumber: string, atMs: number): Promise<LeaseCandidate[]> {
    const rows = await this.client().query<Row>(
      `SELECT l.lease_id AS lease_id, l.session_id AS session_id, l.visitor_id AS visitor_id,
              toUnixTimestamp64Milli(l.granted_at) AS granted_ms, toUnixTimestamp64Milli(l.expires_at) AS expires_ms,
              r.released_ms AS released_ms
       FROM (SELECT * FROM leases FINAL
             WHERE site_id = {site:String} AND tracking_number = {number:String} AND granted_at <= fromUnixTimestamp64Milli({at:Int64})
             ORDER BY granted_at DESC LIMIT 10) AS l
       LEFT JOIN (SELECT lease_id, toUnixTimestamp64Milli(min(released_at)) AS released_ms FROM lease_releases
                  WHERE site_id = {site:String} AND tracking_number = {number:String} GROUP BY lease_id) AS r
       ON l.lease_id = r.lease_id
       ORDER BY l.granted_at DESC`,
      { site: siteId, number: trackingNumber, at: atMs },
    );
    return rows.map((r) => ({
      leaseId: String(r['lease_id']),
      sessionId: String(r['session_id']),
      visitorId: String(r['visitor_id']),
      grantedAtMs: ms(r['granted_ms']),
      expiresAtMs: ms(r['expires_ms']),
      releasedAtMs: ms(r['released_ms']),
    }));
  }

  /** The visit a lease was taken for; its start day narrows the search to the visit's part of the key. */
  async visit(siteId: string, sessionId: string, aroundMs: number): Promise<VisitSource | undefined> {
    const rows = await this.client().query<Row>(
      `SELECT session_id, visitor_id, utm_source, utm_medium, utm_campaign, utm_content, utm_term, referrer, landing_page, click_ids,
              ga_client_id, ym_uid, fbp, fbc
       FROM visits FINAL
       WHERE site_id = {site:String} AND session_id = {session:String}
         AND toDate(started_at) BETWEEN toDate(fromUnixTimestamp64Milli({at:Int64})) - 1 AND toDate(fromUnixTimestamp64Milli({at:Int64})) + 1
       LIMIT 1`,
      { site: siteId, session: sessionId, at: aroundMs },
    );
    const r = rows[0];
    if (!r) return undefined;
    return {
      sessionId: String(r['session_id']),
      visitorId: String(r['visitor_id']),
      utmSource: String(r['utm_source']),
      utmMedium: String(r['utm_medium']),
      utmCampaign: String(r['utm_campaign']),
      utmContent: String(r['utm_content']),
      utmTerm: String(r['utm_term']),
      referrer: String(r['referrer']),
      landingPage: String(r['landing_page']),
      clickIds: (r['click_ids'] ?? {}) as Record<string, string>,
      analyticsIds: { gaClientId: String(r['ga_client_id']), ymUid: String(r['ym_uid']), fbp: String(r['fbp']), fbc: String(r['fbc']) },
    };
  }

  /** Highest version stored for a call (0 if none): what a late, older report must not replace. */
  async storedCallVersion(siteId: string, callId: string, startedAtMs: number): Promise<number> {
    const rows = await this.client().query<Row>(
      `SELECT max(version) AS v FROM calls
       WHERE site_id = {site:String} AND toDate(started_at) = toDate(fromUnixTimestamp64Milli({at:Int64})) AND call_id = {call:String}`,
      { site: siteId, call: callId, at: startedAtMs },
    );
    return ms(rows[0]?.['v']);
  }

  async call(siteId: string, callId: string): Promise<Row | undefined> {
    const rows = await this.client().query<Row>(`SELECT * EXCEPT (version, ingested_at) FROM calls FINAL WHERE site_id = {site:String} AND call_id = {call:String} LIMIT 1`, { site: siteId, call: callId });
    return rows[0];
  }

  async calls(siteId: string, fromMs: number, toMs: number, limit: number): Promise<Row[]> {
    return this.client().query<Row>(
      `SELECT * EXCEPT (version, ingested_at) FROM calls FINAL
       WHERE site_id = {site:String} AND started_at >= fromUnixTimestamp64Milli({from:Int64}) AND started_at < fromUnixTimestamp64Milli({to:Int64})
       ORDER BY started_at DESC LIMIT {limit:UInt32}`,
      { site: siteId, from: fromMs, to: toMs, limit },
    );
  }

  /** Visits and calls per source and medium (bots and spam excluded from visits and answered calls). */
  async channelReport(siteId: string, fromMs: number, toMs: number): Promise<Row[]> {
    return this.client().query<Row>(
      `WITH
         v AS (SELECT utm_source, utm_medium, count() AS visits FROM visits FINAL
               WHERE site_id = {site:String} AND started_at >= fromUnixTimestamp64Milli({from:Int64}) AND started_at < fromUnixTimestamp64Milli({to:Int64})
                 AND session_id NOT IN (SELECT session_id FROM session_verdicts FINAL WHERE site_id = {site:String} AND verdict = 'bot')
               GROUP BY utm_source, utm_medium),
         c AS (SELECT utm_source, utm_medium, countIf(verdict != 'spam') AS calls, countIf(verdict != 'spam' AND answered_at IS NOT NULL) AS answered_calls,
                      countIf(verdict = 'spam') AS spam_calls
               FROM calls FINAL
               WHERE site_id = {site:String} AND started_at >= fromUnixTimestamp64Milli({from:Int64}) AND started_at < fromUnixTimestamp64Milli({to:Int64})
               GROUP BY utm_source, utm_medium)
       SELECT utm_source, utm_medium, v.visits AS visits, c.calls AS calls, c.answered_calls AS answered_calls, c.spam_calls AS spam_calls
       FROM v FULL OUTER JOIN c USING (utm_source, utm_medium)
       ORDER BY calls DESC, visits DESC`,
      { site: siteId, from: fromMs, to: toMs },
    );
  }
}
