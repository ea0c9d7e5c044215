// What the attribution benchmarks (scripts/bench/attribution-throughput.mjs,
// scripts/bench/call-to-row.mjs) share: the services on their own topic prefix and
// ClickHouse directory, a site with visits that hold numbers (made through the session
// API, the real path), a watcher of attribution's output topic, and CPU accounting.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { decodeEvent, topicName } from '@calltrack/contracts';
import { createKafka } from '@calltrack/kafka';
import { http, waitFor } from '@calltrack/testing';
import { newRunId, Platform, servicePorts } from './platform.mjs';

export async function startBenchPlatform(label, serviceEnv = {}) {
  const runId = newRunId();
  process.env.SERVICE_LOG_DIR ??= join(resolve(import.meta.dirname, '../..'), '.cache/bench-logs', `${label}-${runId}`);
  const platform = new Platform({
    brokers: process.env.KAFKA_BROKERS ?? '127.0.0.1:9092',
    prefix: `bench.${label}.${runId}.`,
    adminToken: `bench-admin-${runId}-0123456789`,
    dataDir: `/tmp/calltrack-bench-${label}-${runId}`,
    ports: servicePorts({ ...process.env, SIM_PORT_BASE: process.env.BENCH_PORT_BASE ?? '18280' }),
    logLevel: process.env.BENCH_SERVICE_LOG_LEVEL ?? 'warn',
    serviceEnv: {
      ...serviceEnv,
      attribution: { ATTRIBUTION_MARKOV_REFRESH_MINUTES: '0', ...(serviceEnv.attribution ?? {}) },
      // The visits that hold the numbers are set-up, not what is measured: on a busy machine the
      // lease round trip can outlast the visitor's 1.5 s, which would leave a visit without a number.
      'session-tracker': { LEASE_REPLY_TIMEOUT_MS: '15000', ...(serviceEnv['session-tracker'] ?? {}) },
    },
  });
  // An interrupted benchmark still stops the services it started and removes their data.
  for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => void platform.stop().finally(() => process.exit(130)));
  await platform.start();
  return { platform, runId };
}

/** A site whose numbers are all held by visits from paid search (lease tail 1 h, so they stay held during the run). */
export async function siteWithLiveVisits(platform, { siteId, sessions, webhookSecret }) {
  const numbers = Array.from({ length: sessions }, (_, i) => `+7495200${String(i + 1).padStart(4, '0')}`);
  await platform.configureSite({ siteId, poolNumbers: numbers, defaultNumber: '+74952000000', leaseTtlSeconds: 3600, webhookSecret });
  const visits = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < sessions) {
        const i = next++;
        const r = await http('POST', `${platform.url('session-tracker')}/v1/sessions`, {
          headers: { 'x-forwarded-for': `10.9.${i >> 8}.${(i & 255) + 1}` },
          body: {
            siteId,
            landingPage: `https://shop.example/sofas?utm_source=google&utm_medium=cpc&utm_campaign=c${i % 7}&utm_term=k${i % 31}&gclid=g${i}`,
            userAgent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36',
          },
        });
        if (r.status !== 201 || !r.body.leaseId) throw new Error(`session ${i}: ${r.status} ${JSON.stringify(r.body)}`);
        visits.push(r.body);
      }
    }),
  );
  // Attribution has stored them once its visits table counts them all.
  await waitFor(
    async () => {
      const r = await http('GET', `${platform.url('attribution')}/v1/sites/${siteId}/report/channels`, { headers: platform.auth });
      return r.status === 200 && r.body.rows.reduce((n, row) => n + Number(row.visits ?? 0), 0) >= sessions;
    },
    { what: 'attribution to store the visits', timeoutMs: 120_000, intervalMs: 500 },
  );
  return visits;
}

/** Calls in ClickHouse for the site (attribution's channel report: one row per call, FINAL). */
export async function storedCalls(platform, siteId) {
  const r = await http(
    'GET',
    `${platform.url('attribution')}/v1/sites/${siteId}/report/channels?from=${encodeURIComponent(new Date(Date.now() - 86_400_000).toISOString())}`,
    { headers: platform.auth },
  );
  if (r.status !== 200) throw new Error(`channel report: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.rows.reduce((n, row) => n + Number(row.calls ?? 0), 0);
}

/**
 * Follows attribution's output topic (CallAttributed is published after the call's row
 * and credits are inserted): when each call's final evaluation was announced.
 */
export async function watchAttributed(platform, label) {
  const kafka = createKafka({ brokers: platform.brokers.split(','), clientId: `bench-${label}-watch`, prefix: platform.prefix }, platform.logger);
  const consumer = kafka.consumer({ groupId: `${platform.prefix}bench-watch-${label}`, maxWaitTimeInMs: 10 });
  const finals = new Map();
  const listeners = new Set();
  await consumer.connect();
  await consumer.subscribe({ topics: [topicName('attributedCalls', platform.prefix)], fromBeginning: true });
  let joined;
  const ready = new Promise((r) => (joined = r));
  consumer.on(consumer.events.GROUP_JOIN, () => joined());
  await consumer.run({
    eachMessage: async ({ message }) => {
      const at = Date.now();
      let event;
      try {
        event = decodeEvent(message.value);
      } catch {
        return;
      }
      const p = event.payload;
      if (!p.final || !p.call?.callId || finals.has(p.call.callId)) return;
      finals.set(p.call.callId, { at, method: p.method, channel: p.channel });
      for (const l of listeners) l(p.call.callId, at);
    },
  });
  await ready;
  return {
    finals,
    onFinal: (fn) => listeners.add(fn),
    stop: () => consumer.disconnect(),
  };
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux). */
export function cpuSeconds(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

/** The pid of a service the platform started (ServiceProcess keeps its child). */
export const pidOf = (platform, name) => platform.services[name].child?.pid;

export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}
