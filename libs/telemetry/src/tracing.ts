import { context, propagation, trace, type Context, type Span, type Tracer, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { W3CTraceContextPropagator, CompositePropagator, W3CBaggagePropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { readFileSync } from 'node:fs';
import { detectResources, envDetector, hostDetector, processDetector, resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import { BatchSpanProcessor, SimpleSpanProcessor, ConsoleSpanExporter, type SpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';

let provider: NodeTracerProvider | undefined;

// Processors added after start-up (tests attach an in-memory exporter to the
// provider that the first service of the process installed).
class LateBoundProcessors implements SpanProcessor {
  readonly processors: SpanProcessor[] = [];
  onStart(span: Parameters<SpanProcessor['onStart']>[0], ctx: Context): void {
    for (const p of this.processors) p.onStart(span, ctx);
  }
  onEnd(span: Parameters<SpanProcessor['onEnd']>[0]): void {
    for (const p of this.processors) p.onEnd(span);
  }
  async forceFlush(): Promise<void> {
    await Promise.all(this.processors.map((p) => p.forceFlush()));
  }
  async shutdown(): Promise<void> {
    await Promise.all(this.processors.map((p) => p.shutdown()));
  }
}
const lateBound = new LateBoundProcessors();

/** Attaches a span processor to the process's provider, whenever it was installed. */
export function addSpanProcessor(processor: SpanProcessor): () => void {
  lateBound.processors.push(processor);
  return () => {
    const i = lateBound.processors.indexOf(processor);
    if (i >= 0) lateBound.processors.splice(i, 1);
  };
}

export interface TelemetryOptions {
  serviceName: string;
  /** Default: the platform's version (the repository's package.json, the chart's appVersion). */
  serviceVersion?: string;
  /** Overrides the exporter chosen from OTEL_* variables (tests pass an in-memory exporter). */
  exporter?: SpanExporter;
}

/**
 * Installs the process-wide tracer provider once. The exporter follows the
 * standard variables: OTEL_TRACES_EXPORTER (otlp | console | none) and
 * OTEL_EXPORTER_OTLP_ENDPOINT / OTEL_EXPORTER_OTLP_TRACES_ENDPOINT. With no
 * endpoint configured the default is "none", so a laptop run does not spam
 * connection errors to localhost:4318.
 */
export function initTelemetry(options: TelemetryOptions): void {
  if (provider) return;
  const processors: SpanProcessor[] = [lateBound];
  const exporter = options.exporter ?? exporterFromEnv();
  if (exporter) {
    processors.push(options.exporter ? new SimpleSpanProcessor(exporter) : new BatchSpanProcessor(exporter));
  }
  provider = new NodeTracerProvider({ resource: telemetryResource(options), spanProcessors: processors });
  provider.register({
    propagator: new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }),
  });
}

/**
 * The resource of every span: service name and version, the host and process, and
 * OTEL_RESOURCE_ATTRIBUTES (`key=value,…`) last, so an operator's value wins — the Helm chart
 * puts the Kubernetes attributes there (k8s.pod.name, k8s.namespace.name, k8s.node.name,
 * k8s.deployment.name… from the downward API).
 */
export function telemetryResource(options: Pick<TelemetryOptions, 'serviceName' | 'serviceVersion'>): Resource {
  const service = resourceFromAttributes({
    [ATTR_SERVICE_NAME]: process.env['OTEL_SERVICE_NAME'] || options.serviceName,
    [ATTR_SERVICE_VERSION]: options.serviceVersion ?? platformVersion(),
  });
  return detectResources({ detectors: [hostDetector, processDetector] })
    .merge(service)
    .merge(detectResources({ detectors: [envDetector] }));
}

let version: string | undefined;

/** The platform's version: the repository's root package.json (in the image, /app/package.json). */
export function platformVersion(): string {
  if (version === undefined) {
    // dist/tracing.js → libs/telemetry → libs → the root; the package's own version if that is missing.
    for (const path of ['../../../package.json', '../package.json']) {
      try {
        const parsed = JSON.parse(readFileSync(new URL(path, import.meta.url), 'utf8')) as { version?: unknown };
        if (typeof parsed.version === 'string' && parsed.version) {
          version = parsed.version;
          break;
        }
      } catch {
        // next candidate
      }
    }
    version ??= 'unknown';
  }
  return version;
}

function exporterFromEnv(): SpanExporter | undefined {
  const env = process.env;
  const configured = env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'] ?? env['OTEL_EXPORTER_OTLP_ENDPOINT'];
  const kind = env['OTEL_TRACES_EXPORTER'] ?? (configured ? 'otlp' : 'none');
  if (kind === 'none') return undefined;
  if (kind === 'console') return new ConsoleSpanExporter();
  if (kind === 'otlp') return new OTLPTraceExporter();
  throw new Error(`OTEL_TRACES_EXPORTER=${kind} is not supported (use otlp, console or none)`);
}

/** Flushes and stops the provider (graceful shutdown). */
export async function shutdownTelemetry(): Promise<void> {
  const p = provider;
  provider = undefined;
  if (p) await p.shutdown();
}

export function tracer(serviceName: string): Tracer {
  return trace.getTracer(serviceName);
}

/** Writes the active (or given) context into carrier headers (W3C traceparent/tracestate). */
export function injectTraceHeaders(ctx: Context = context.active()): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  return carrier;
}

/** Reads trace context from headers; values may be Buffers (Kafka) or strings (HTTP). */
export function extractTraceContext(headers: Record<string, unknown> | undefined): Context {
  const carrier: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers ?? {})) {
    if (typeof v === 'string') carrier[k] = v;
    else if (Buffer.isBuffer(v)) carrier[k] = v.toString('utf8');
    else if (Array.isArray(v) && v.length > 0) carrier[k] = String(v[0]);
  }
  return propagation.extract(context.active(), carrier);
}

/** Runs fn inside a span; records errors and ends the span whatever happens. */
export async function withSpan<T>(
  t: Tracer,
  name: string,
  options: { kind?: SpanKind; attributes?: Record<string, string | number | boolean>; parent?: Context },
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  const parent = options.parent ?? context.active();
  const span = t.startSpan(name, { kind: options.kind ?? SpanKind.INTERNAL, attributes: options.attributes ?? {} }, parent);
  try {
    return await context.with(trace.setSpan(parent, span), () => fn(span));
  } catch (err) {
    span.recordException(err as Error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
    throw err;
  } finally {
    span.end();
  }
}

export { SpanKind, SpanStatusCode, context, trace };
export type { Span, Tracer, Context };
