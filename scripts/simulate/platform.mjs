// Starts the services the simulator drives, each as its own process from its compiled
// main.js (as scripts/demo.mjs does), on an isolated topic prefix and ClickHouse directory,
// and configures sites through the admin APIs.
import { randomUUID } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { createEvent, siteKey } from '@calltrack/contracts';
import { createKafka, KafkaBus, provisionTopics } from '@calltrack/kafka';
import { createLogger } from '@calltrack/telemetry';
import { http, ServiceProcess, waitFor } from '@calltrack/testing';

export const SERVICE_NAMES = ['number-pool', 'session-tracker', 'telephony-ingest', 'antifraud', 'attribution'];

/**
 * Ports: SIM_PORTS (a comma-separated list, one per service in SERVICE_NAMES order, then
 * attribution's gRPC port) or SIM_PORT_BASE (default 18180: 18181… are taken in order).
 */
export function servicePorts(env = process.env) {
  if (env.SIM_PORTS) {
    const list = env.SIM_PORTS.split(',').map((p) => Number(p.trim()));
    if (list.length !== SERVICE_NAMES.length + 1 || list.some((p) => !Number.isInteger(p) || p < 1 || p > 65535)) {
      throw new Error(`SIM_PORTS must list ${SERVICE_NAMES.length + 1} ports (${SERVICE_NAMES.join(', ')}, attribution gRPC)`);
    }
    return { services: Object.fromEntries(SERVICE_NAMES.map((n, i) => [n, list[i]])), grpc: list[SERVICE_NAMES.length] };
  }
  const base = Number(env.SIM_PORT_BASE ?? 18180);
  if (!Number.isInteger(base) || base < 1024 || base > 65000) throw new Error('SIM_PORT_BASE must be a port number between 1024 and 65000');
  return { services: Object.fromEntries(SERVICE_NAMES.map((n, i) => [n, base + 1 + i])), grpc: base + 1 + SERVICE_NAMES.length };
}

export class Platform {
  constructor({ brokers, prefix, adminToken, dataDir, ports, serviceEnv = {}, logLevel = 'warn' }) {
    this.brokers = brokers;
    this.prefix = prefix;
    this.adminToken = adminToken;
    this.dataDir = dataDir;
    this.auth = { authorization: `Bearer ${adminToken}` };
    // HTTP_TRUST_PROXY: the driver plays a proxy on loopback, naming each simulated visitor's address in X-Forwarded-For.
    // Admin and webhook rate limits sized for one client polling and posting as fast as a bench does: they measure the platform, not its abuse limits.
    const unlimited = '100000000';
    const common = {
      KAFKA_BROKERS: brokers,
      KAFKA_TOPIC_PREFIX: prefix,
      ADMIN_TOKEN: adminToken,
      LOG_LEVEL: logLevel,
      KAFKA_SESSION_TIMEOUT_MS: '10000',
      HTTP_TRUST_PROXY: 'loopback',
      ADMIN_RATE_LIMIT_PER_ADDRESS_PER_MINUTE: unlimited,
      ADMIN_RATE_LIMIT_PER_SITE_PER_MINUTE: unlimited,
    };
    const extra = {
      'telephony-ingest': {
        WEBHOOK_RATE_LIMIT_PER_ADDRESS_PER_MINUTE: unlimited,
        WEBHOOK_RATE_LIMIT_PER_SITE_PER_MINUTE: unlimited,
        ENQUIRY_RATE_LIMIT_PER_ADDRESS_PER_MINUTE: unlimited,
        ENQUIRY_RATE_LIMIT_PER_SITE_PER_MINUTE: unlimited,
        ...(serviceEnv['telephony-ingest'] ?? {}),
      },
      attribution: { CLICKHOUSE_DATA_DIR: dataDir, GRPC_PORT: String(ports.grpc), ...(serviceEnv.attribution ?? {}) },
    };
    this.services = Object.fromEntries(
      SERVICE_NAMES.map((name) => [name, new ServiceProcess(name, ports.services[name], { ...common, ...(serviceEnv[name] ?? {}), ...(extra[name] ?? {}) })]),
    );
    this.logger = createLogger('simulator', 'warn');
    this.bus = undefined;
  }

  url(name) {
    return this.services[name].url;
  }

  async start() {
    mkdirSync(this.dataDir, { recursive: true });
    const settings = { brokers: this.brokers.split(','), clientId: 'simulator', prefix: this.prefix, maxRetries: 3 };
    await provisionTopics(createKafka(settings, this.logger), this.prefix, this.logger);
    this.bus = new KafkaBus(settings, this.logger);
    await this.bus.connect();
    // number-pool first: session-tracker and telephony-ingest follow the sites it publishes.
    await this.services['number-pool'].start();
    await Promise.all(SERVICE_NAMES.filter((n) => n !== 'number-pool').map((n) => this.services[n].start()));
  }

  async stop({ keepData = false } = {}) {
    await Promise.all(Object.values(this.services).map((s) => s.stop()));
    await this.bus?.close();
    if (!keepData) rmSync(this.dataDir, { recursive: true, force: true });
  }

  /**
   * A site through number-pool's admin API, then — when the simulated lease tail is below
   * the API's 60 s floor (a product rule for real visitors, not for compressed time) —
   * the same configuration republished as the next revision with the scaled tail.
   * Then the site's webhook secret (telephony-ingest) once the site has reached it.
   */
  async configureSite({ siteId, poolNumbers, defaultNumber, leaseTtlSeconds, webhookSecret }) {
    const body = {
      name: `Simulated shop ${siteId}`,
      country: 'RU',
      timeZone: 'Europe/Moscow',
      defaultNumber,
      poolNumbers,
      leaseTtlSeconds: Math.max(60, leaseTtlSeconds),
      shortagePolicy: 'default_number',
      quarantineSeconds: 0,
    };
    const put = await http('PUT', `${this.url('number-pool')}/v1/admin/sites/${siteId}`, { headers: this.auth, body });
    if (put.status !== 200) throw new Error(`site ${siteId}: number-pool refused the configuration (${put.status}): ${JSON.stringify(put.body)}`);
    if (leaseTtlSeconds < 60) {
      const revision = Number(String(put.headers.get('etag') ?? '').replaceAll('"', ''));
      if (!Number.isInteger(revision)) throw new Error(`site ${siteId}: no revision in number-pool's answer`);
      const { leaseTtlSeconds: _floor, ...rest } = body;
      await this.bus.producer.publish(
        'sites',
        siteKey(siteId),
        createEvent('SiteConfigured', { ...rest, leaseTtlSeconds, revision: revision + 1, updatedAtMs: Date.now() }, { siteId, producer: 'simulator' }),
        // Set-up, not a visitor waiting: the broker's first idempotent producer may take a while.
        { timeoutMs: 60_000 },
      );
      await waitFor(
        async () => {
          const r = await http('GET', `${this.url('number-pool')}/v1/admin/sites/${siteId}/pool`, { headers: this.auth });
          return r.status === 200 && Number(r.body?.leaseTtlSeconds) === leaseTtlSeconds;
        },
        { what: `number-pool to apply the ${leaseTtlSeconds} s lease tail of ${siteId}`, timeoutMs: 30_000 },
      );
    }
    await waitFor(
      async () =>
        (await http('PUT', `${this.url('telephony-ingest')}/v1/admin/sites/${siteId}/webhook-secret`, { headers: this.auth, body: { secret: webhookSecret } }))
          .status === 200,
      { what: `telephony-ingest to know ${siteId}`, timeoutMs: 30_000 },
    );
    // session-tracker and attribution follow the sites topic too: wait until both know the site.
    await waitFor(async () => (await http('GET', `${this.url('session-tracker')}/v1/sites/${siteId}/tracker.js`)).status === 200, {
      what: `session-tracker to know ${siteId}`,
      timeoutMs: 30_000,
    });
    await waitFor(
      async () => (await http('GET', `${this.url('attribution')}/v1/admin/sites/${siteId}/attribution-settings`, { headers: this.auth })).status === 200,
      {
        what: `attribution to know ${siteId}`,
        timeoutMs: 30_000,
      },
    );
  }

  async poolStats(siteId) {
    const r = await http('GET', `${this.url('number-pool')}/v1/admin/sites/${siteId}/pool`, { headers: this.auth });
    return r.status === 200 ? r.body : undefined;
  }
}

export const newRunId = () => randomUUID().slice(0, 8);
