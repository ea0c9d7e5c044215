// Test fixture: attribution started in this process on the test broker and the run's
// embedded ClickHouse directory, in a database of its own, ready (migrations applied,
// consumers joined) before a test publishes anything; plus a client of that database.
import { createClickHouse, type ClickHouse } from '@calltrack/clickhouse';
import type { RunningService } from '@calltrack/service-kit';
import { http, waitFor, type KafkaTestEnv } from '@calltrack/testing';
import { startAttribution } from './attribution.app.js';
import { loadAttributionConfig } from './config.js';

export const TEST_ADMIN_TOKEN = 'attribution-admin-token-0123456789';

export interface AttributionUnderTest {
  service: RunningService;
  ch: ClickHouse;
  close(): Promise<void>;
}

/** `env`: extra variables (they win over the defaults: a short state wait, a fast sweep, no Markov refresh). */
export async function startAttributionForTest(kafka: KafkaTestEnv, database: string, env: Record<string, string> = {}): Promise<AttributionUnderTest> {
  const dataDir = process.env['CLICKHOUSE_DATA_DIR'];
  const service = await startAttribution(
    loadAttributionConfig({
      ...kafka.env,
      ADMIN_TOKEN: TEST_ADMIN_TOKEN,
      PORT: '0',
      HTTP_HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      CLICKHOUSE_DATABASE: database,
      CLICKHOUSE_DATA_DIR: dataDir,
      ATTRIBUTION_STATE_WAIT_MS: '1500',
      ATTRIBUTION_SWEEP_INTERVAL_MS: '300',
      ATTRIBUTION_MARKOV_REFRESH_MINUTES: '0',
      ...env,
    }),
  );
  const ch = createClickHouse({ dataDir, database });
  await waitFor(async () => (await http('GET', `${service.url}/readyz`)).status === 200, { what: 'attribution ready', timeoutMs: 60_000 });
  return {
    service,
    ch,
    async close() {
      await service.close();
      await ch.close();
    },
  };
}
