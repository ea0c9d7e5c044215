// attribution in wait mode (the default with a ClickHouse server) on the embedded engine: it
// does not migrate, it waits unready, logging why, until the migrations command has applied the
// version it was built for. The "command" here is migrateDatabase in this process, as the
// embedded engine cannot be shared with another process; against a server the Job does the same.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { copyFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createClickHouse, migrateDatabase } from '@calltrack/clickhouse';
import { ReadinessService } from '@calltrack/service-kit';
import type { Logger } from '@calltrack/telemetry';
import { waitFor } from '@calltrack/testing';
import { AttributionStore } from './attribution-store.js';
import { MIGRATIONS_DIR, migrateMode } from './clickhouse-connection.js';
import { loadAttributionConfig } from '../config.js';

process.env['CLICKHOUSE_DATA_DIR'] ??= mkdtempSync(join(tmpdir(), 'calltrack-chdb-'));

/** Records what the store logs (event field and level) instead of writing it. */
function recordingLogger(): { logger: Logger; events: Array<{ level: string; fields: Record<string, unknown>; msg?: string }> } {
  const events: Array<{ level: string; fields: Record<string, unknown>; msg?: string }> = [];
  const at =
    (level: string) =>
    (fields: Record<string, unknown>, msg?: string): void => {
      events.push({ level, fields, ...(msg === undefined ? {} : { msg }) });
    };
  const logger = { trace: at('trace'), debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), fatal: at('fatal') };
  return { logger: logger as unknown as Logger, events };
}

describe('attribution waits for the ClickHouse schema it needs (CLICKHOUSE_MIGRATE=wait)', () => {
  const dataDir = process.env['CLICKHOUSE_DATA_DIR']!;
  const database = `schema_wait_${randomUUID().slice(0, 8)}`;
  const partial = mkdtempSync(join(tmpdir(), 'calltrack-partial-migrations-'));

  after(async () => {
    rmSync(partial, { recursive: true, force: true });
    const admin = createClickHouse({ dataDir });
    await admin.command(`DROP DATABASE IF EXISTS ${database}`);
    await admin.close();
  });

  it('defaults: auto with the embedded engine, wait with a server', () => {
    assert.equal(migrateMode({ CLICKHOUSE_URL: undefined, CLICKHOUSE_MIGRATE: undefined }), 'auto');
    assert.equal(migrateMode({ CLICKHOUSE_URL: 'http://clickhouse:8123', CLICKHOUSE_MIGRATE: undefined }), 'wait');
    assert.equal(migrateMode({ CLICKHOUSE_URL: 'http://clickhouse:8123', CLICKHOUSE_MIGRATE: 'auto' }), 'auto');
  });

  it('stays unready while the schema is behind, and opens once it is migrated', async () => {
    const config = loadAttributionConfig({
      ADMIN_TOKEN: 'attribution-admin-token-0123456789',
      CLICKHOUSE_DATABASE: database,
      CLICKHOUSE_DATA_DIR: dataDir,
      CLICKHOUSE_MIGRATE: 'wait',
    });
    const { logger, events } = recordingLogger();
    const readiness = new ReadinessService();
    const store = new AttributionStore(config, logger, readiness);
    let opened = false;
    const opening = store.onModuleInit().then(() => (opened = true));
    try {
      // No database yet: the store says it cannot read the schema, and goes on waiting.
      await waitFor(() => events.some((e) => e.fields['event'] === 'clickhouse_schema_unreadable'), { what: 'the store to find no database' });

      // An older release's schema: the first five migrations.
      const files = readdirSync(MIGRATIONS_DIR)
        .filter((f) => f.endsWith('.sql'))
        .sort();
      for (const f of files.slice(0, 5)) copyFileSync(join(MIGRATIONS_DIR, f), join(partial, f));
      assert.deepEqual(await migrateDatabase({ connection: { dataDir }, database, dir: partial }), [1, 2, 3, 4, 5]);
      const waiting = await waitFor(() => events.find((e) => e.fields['event'] === 'clickhouse_schema_waiting'), {
        what: 'the store to report the schema behind',
      });
      assert.equal(waiting.level, 'warn');
      assert.equal(waiting.fields['applied'], 5);
      assert.equal(waiting.fields['required'], files.length);
      assert.match(waiting.msg ?? '', /waiting for schema version \d+ \(the database has 5\): run the migrations/);
      assert.equal(opened, false);
      const status = await readiness.status();
      assert.equal(status.ready, false);
      assert.equal(status.checks['clickhouse_migrated'], false);

      // The migrations command brings it to this build's version.
      const applied = await migrateDatabase({ connection: { dataDir }, database, dir: MIGRATIONS_DIR });
      assert.deepEqual(
        applied,
        files.slice(5).map((_, i) => i + 6),
      );
      await opening;
      assert.equal((await readiness.status()).checks['clickhouse_migrated'], true);
      const ready = events.find((e) => e.fields['event'] === 'clickhouse_ready');
      assert.equal(ready?.fields['migrate'], 'wait');
      assert.deepEqual(ready?.fields['applied'], [], 'the service applied nothing itself');
      assert.deepEqual(await store.query('SELECT count() AS n FROM calls'), [{ n: '0' }]);
    } finally {
      // Also ends a wait that never finished (a failed assertion above).
      await store.onApplicationShutdown();
      await opening.catch(() => undefined);
      await store.onApplicationShutdown();
    }
  });
});
