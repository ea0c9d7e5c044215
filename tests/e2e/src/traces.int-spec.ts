// Traces cross Kafka: the trace started by a session-tracker HTTP request goes on
// through number-pool and attribution. Decision: parent/child, not span links —
// each consumer span's parent is the span that published the record (context in
// the record's W3C traceparent header), so one visit is one trace.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { loadAttributionConfig, startAttribution } from '@calltrack/attribution';
import { loadNumberPoolConfig, startNumberPool } from '@calltrack/number-pool';
import type { RunningService } from '@calltrack/service-kit';
import { loadSessionTrackerConfig, startSessionTracker } from '@calltrack/session-tracker';
import { addSpanProcessor, initTelemetry } from '@calltrack/telemetry';
import { createKafkaTestEnv, http, waitFor, type KafkaTestEnv } from '@calltrack/testing';

const ADMIN = 'trace-admin-token-0123456789';

describe('trace propagation across Kafka', () => {
  const exporter = new InMemorySpanExporter();
  let detach: () => void;
  let env: KafkaTestEnv;
  const services: RunningService[] = [];
  let tracker: RunningService;
  let pool: RunningService;

  before(async () => {
    initTelemetry({ serviceName: 'trace-test' });
    detach = addSpanProcessor(new SimpleSpanProcessor(exporter));
    env = await createKafkaTestEnv('traces');
    const base = { ...env.env, ADMIN_TOKEN: ADMIN, PORT: '0', HTTP_HOST: '127.0.0.1', LOG_LEVEL: 'warn' };
    pool = await startNumberPool(loadNumberPoolConfig(base));
    services.push(pool);
    services.push(
      await startAttribution(
        loadAttributionConfig({
          ...base,
          CLICKHOUSE_DATABASE: `traces_${randomUUID().slice(0, 8)}`,
          CLICKHOUSE_DATA_DIR: process.env['CLICKHOUSE_DATA_DIR'] ?? '',
        }),
      ),
    );
    tracker = await startSessionTracker(loadSessionTrackerConfig({ ...base, LEASE_REPLY_TIMEOUT_MS: '5000' }));
    services.push(tracker);
  });

  after(async () => {
    for (const s of services.reverse()) await s.close();
    detach();
  });

  it('links the HTTP request, number-pool and attribution in one trace', async () => {
    const put = await http('PUT', `${pool.url}/v1/admin/sites/trace-site`, {
      headers: { authorization: `Bearer ${ADMIN}` },
      body: { name: 'Trace', country: 'GB', timeZone: 'Europe/London', defaultNumber: '+44 20 7946 0000', poolNumbers: ['+44 20 7946 0001'] },
    });
    assert.equal(put.status, 200);
    const visit = await waitFor(
      async () => {
        const r = await http('POST', `${tracker.url}/v1/sessions`, {
          body: { siteId: 'trace-site', landingPage: 'https://example.co.uk/?utm_source=bing', userAgent: 'Mozilla/5.0 Chrome/120.0' },
        });
        return r.status === 201 ? r : undefined;
      },
      { what: 'session start' },
    );
    assert.equal(visit.body.fallback, false);

    const spans = (): ReadableSpan[] => exporter.getFinishedSpans();
    const scope = (s: ReadableSpan) => s.instrumentationScope.name;
    // The request that got the number (earlier attempts may have met a site not yet known).
    const request = await waitFor(
      () => spans().find((s) => scope(s) === 'session-tracker' && s.name === 'POST /v1/sessions' && s.attributes['http.response.status_code'] === 201),
      { what: 'the HTTP span' },
    );
    const traceId = request.spanContext().traceId;
    const inTrace = () => spans().filter((s) => s.spanContext().traceId === traceId);
    const parentOf = (s: ReadableSpan) => inTrace().find((p) => p.spanContext().spanId === s.parentSpanContext?.spanId);

    const poolSpan = await waitFor(() => inTrace().find((s) => scope(s) === 'number-pool' && s.name === 'process poolCommands'), {
      what: 'number-pool consumer span in the trace',
    });
    const publish = parentOf(poolSpan);
    assert.equal(publish?.name, 'publish sessions');
    assert.equal(scope(publish!), 'session-tracker');
    assert.equal(parentOf(publish!)?.spanContext().spanId, request.spanContext().spanId);

    const attributedLease = await waitFor(() => inTrace().find((s) => scope(s) === 'attribution' && s.name === 'process poolEvents'), {
      what: 'attribution consuming the lease in the trace',
    });
    assert.equal(parentOf(attributedLease)?.spanContext().spanId, poolSpan.spanContext().spanId, "the lease event continues number-pool's span");
    const attributedSession = await waitFor(() => inTrace().find((s) => scope(s) === 'attribution' && s.name === 'process sessions'), {
      what: 'attribution consuming the session in the trace',
    });
    assert.equal(parentOf(attributedSession)?.name, 'publish sessions');
  });
});
