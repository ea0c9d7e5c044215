// Traces cross Kafka: the trace started by a session-tracker HTTP request goes on
// through number-pool and attribution, and the one started by a call's webhook goes on
// through antifraud and attribution to conversion-export's delivery. Decision:
// parent/child, not span links — each consumer span's parent is the span that published
// the record (context in the record's W3C traceparent header), so one visit, and one
// call, is one trace.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { loadAntifraudConfig, startAntifraud } from '@calltrack/antifraud';
import { loadAttributionConfig, startAttribution } from '@calltrack/attribution';
import { loadConversionExportConfig, startConversionExport } from '@calltrack/conversion-export';
import { loadNumberPoolConfig, startNumberPool } from '@calltrack/number-pool';
import type { RunningService } from '@calltrack/service-kit';
import { loadSessionTrackerConfig, startSessionTracker } from '@calltrack/session-tracker';
import { loadTelephonyIngestConfig, startTelephonyIngest } from '@calltrack/telephony-ingest';
import { addSpanProcessor, initTelemetry, platformVersion } from '@calltrack/telemetry';
import { ConversionReceiver, createKafkaTestEnv, http, signGenericWebhook, waitFor, type KafkaTestEnv } from '@calltrack/testing';

const ADMIN = 'trace-admin-token-0123456789';
const WEBHOOK_SECRET = 'whsec-trace-0123456789abcdef0123456789abcdef';
const EXPORT_SECRET = 'export-trace-secret-0123456789abcdef';

describe('trace propagation across Kafka', () => {
  const exporter = new InMemorySpanExporter();
  let detach: () => void;
  let env: KafkaTestEnv;
  const services: RunningService[] = [];
  let tracker: RunningService;
  let pool: RunningService;
  let ingest: RunningService;
  let receiver: ConversionReceiver;

  before(async () => {
    initTelemetry({ serviceName: 'trace-test' });
    detach = addSpanProcessor(new SimpleSpanProcessor(exporter));
    env = await createKafkaTestEnv('traces');
    receiver = await new ConversionReceiver(EXPORT_SECRET).start();
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
    ingest = await startTelephonyIngest(loadTelephonyIngestConfig(base));
    services.push(ingest);
    services.push(await startAntifraud(loadAntifraudConfig(base)));
    services.push(
      await startConversionExport(
        loadConversionExportConfig({ ...base, EXPORT_WEBHOOK_URL: receiver.url, EXPORT_WEBHOOK_SECRET: EXPORT_SECRET, EXPORT_INITIAL_BACKOFF_MS: '100' }),
      ),
    );
  });

  after(async () => {
    for (const s of services.reverse()) await s.close();
    await receiver?.stop();
    detach();
  });

  const spans = (): ReadableSpan[] => exporter.getFinishedSpans();
  const scope = (s: ReadableSpan) => s.instrumentationScope.name;

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
    assert.equal(scope(publish), 'session-tracker');
    assert.equal(parentOf(publish)?.spanContext().spanId, request.spanContext().spanId);

    const attributedLease = await waitFor(() => inTrace().find((s) => scope(s) === 'attribution' && s.name === 'process poolEvents'), {
      what: 'attribution consuming the lease in the trace',
    });
    assert.equal(parentOf(attributedLease)?.spanContext().spanId, poolSpan.spanContext().spanId, "the lease event continues number-pool's span");
    const attributedSession = await waitFor(() => inTrace().find((s) => scope(s) === 'attribution' && s.name === 'process sessions'), {
      what: 'attribution consuming the session in the trace',
    });
    assert.equal(parentOf(attributedSession)?.name, 'publish sessions');
  });

  it('follows a call from its webhook through antifraud and attribution to the export delivery in one trace', async () => {
    const site = 'trace-call-site';
    const put = await http('PUT', `${pool.url}/v1/admin/sites/${site}`, {
      headers: { authorization: `Bearer ${ADMIN}` },
      body: { name: 'Trace calls', country: 'GB', timeZone: 'Europe/London', defaultNumber: '+44 20 7946 0100', poolNumbers: ['+44 20 7946 0101'] },
    });
    assert.equal(put.status, 200);
    await waitFor(
      async () =>
        (
          await http('PUT', `${ingest.url}/v1/admin/sites/${site}/webhook-secret`, {
            headers: { authorization: `Bearer ${ADMIN}` },
            body: { secret: WEBHOOK_SECRET },
          })
        ).status === 200,
      { what: 'telephony-ingest to know the site' },
    );
    const started = Date.now() - 5_000;
    const body = JSON.stringify({
      callId: `trace-call-${randomUUID()}`,
      trackingNumber: '+44 20 7946 0101',
      callerNumber: '+44 7911 123456',
      status: 'completed',
      startedAt: new Date(started).toISOString(),
      answeredAt: new Date(started + 1_000).toISOString(),
      endedAt: new Date(started + 3_000).toISOString(),
    });
    const accepted = await http('POST', `${ingest.url}/v1/webhooks/generic/${site}`, { rawBody: body, headers: signGenericWebhook(WEBHOOK_SECRET, body) });
    assert.equal(accepted.status, 202, JSON.stringify(accepted.body));
    const callId: string = accepted.body.callId;

    const webhook = await waitFor(
      () =>
        spans().find(
          (s) => scope(s) === 'telephony-ingest' && s.name === 'POST /v1/webhooks/generic/:siteId' && s.attributes['http.response.status_code'] === 202,
        ),
      { what: "the webhook's HTTP span" },
    );
    const traceId = webhook.spanContext().traceId;
    const inTrace = () => spans().filter((s) => s.spanContext().traceId === traceId);
    const parentOf = (s: ReadableSpan) => inTrace().find((p) => p.spanContext().spanId === s.parentSpanContext?.spanId);
    /** The span and its ancestors up to the root, as "scope: name" (the chain of hops). */
    const chain = (s: ReadableSpan): string[] => {
      const out: string[] = [];
      for (let at: ReadableSpan | undefined = s; at; at = parentOf(at)) out.push(`${scope(at)}: ${at.name}`);
      return out.reverse();
    };

    // conversion-export delivered it, inside the trace the webhook started.
    await waitFor(() => receiver.forCall(callId).length > 0, { what: 'the export delivery', timeoutMs: 30_000 });
    const exported = await waitFor(() => inTrace().find((s) => scope(s) === 'conversion-export' && s.name === 'process attributedCalls'), {
      what: 'conversion-export consuming the attributed call in the trace',
      timeoutMs: 30_000,
    });
    // Each consumer continues the span of the hop before it: the webhook's publish for antifraud,
    // then the consumer span that produced the record (antifraud and attribution publish what
    // they derive in their batch flush, carrying the processed record's context in the headers).
    assert.deepEqual(chain(exported), [
      'telephony-ingest: POST /v1/webhooks/generic/:siteId',
      'telephony-ingest: publish calls',
      'antifraud: process calls',
      'attribution: process screenedCalls',
      'conversion-export: process attributedCalls',
    ]);
    assert.equal(receiver.forCall(callId).length, 1);
    // The spans carry the platform's real version (package.json), not a constant.
    await exported.resource.waitForAsyncAttributes?.();
    assert.equal(exported.resource.attributes['service.version'], platformVersion());
    assert.match(String(platformVersion()), /^\d+\.\d+\.\d+/);
  });
});
