// attribution started in this process on its own topic prefix and embedded data directory,
// for the benches that seed ClickHouse directly and then time the service (recompute, reports).
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadAttributionConfig, startAttribution } from '@calltrack/attribution';
import { createClickHouse } from '@calltrack/clickhouse';
import { createEvent, siteKey } from '@calltrack/contracts';
import { createKafka, KafkaBus, provisionTopics } from '@calltrack/kafka';
import { createLogger } from '@calltrack/telemetry';
import { http, waitFor } from '@calltrack/testing';

const ADMIN_TOKEN = 'bench-admin-token-0123456789';

/**
 * Provisions the topics, announces the site (`site` is SiteConfigured's payload), starts
 * attribution and waits until it is ready and knows the site. `stop` closes everything and
 * deletes the data directory.
 */
export async function startAttributionInProcess({ name, siteId, site }) {
  const brokers = process.env.KAFKA_BROKERS ?? '127.0.0.1:9092';
  const prefix = `bench.${randomUUID().slice(0, 8)}.`;
  const dataDir = mkdtempSync(join(tmpdir(), 'calltrack-bench-chdb-'));
  const database = `bench_${name.replace(/[^a-z0-9]/gi, '_')}`;
  const logger = createLogger('bench', 'warn');
  const settings = { brokers: brokers.split(','), clientId: `bench-${name}`, prefix };
  await provisionTopics(createKafka(settings, logger), prefix, logger);
  const bus = new KafkaBus(settings, logger);
  await bus.connect();
  await bus.producer.publish('sites', siteKey(siteId), createEvent('SiteConfigured', site, { siteId, producer: 'bench' }));
  const service = await startAttribution(
    loadAttributionConfig({
      KAFKA_BROKERS: brokers,
      KAFKA_TOPIC_PREFIX: prefix,
      ADMIN_TOKEN,
      PORT: '0',
      HTTP_HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      CLICKHOUSE_DATA_DIR: dataDir,
      CLICKHOUSE_DATABASE: database,
      ATTRIBUTION_MARKOV_REFRESH_MINUTES: '0',
    }),
  );
  const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
  const stop = async () => {
    await service.close();
    await bus.close();
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    await waitFor(async () => (await http('GET', `${service.url}/readyz`)).status === 200, { what: 'attribution ready', timeoutMs: 120_000 });
    await waitFor(async () => (await http('GET', `${service.url}/v1/admin/sites/${siteId}/attribution-settings`, { headers: auth })).status === 200, {
      what: 'the site',
      timeoutMs: 60_000,
    });
  } catch (err) {
    await stop();
    throw err;
  }
  /** A second client on the service's embedded engine (same process, same data directory). */
  const clickhouse = () => createClickHouse({ dataDir, database });
  return { service, auth, clickhouse, stop };
}
