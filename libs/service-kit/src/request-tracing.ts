import { context, extractTraceContext, SpanKind, SpanStatusCode, trace, tracer, type Span } from '@calltrack/telemetry';
import type { FastifyInstance, FastifyRequest } from 'fastify';

const SPAN = Symbol('calltrack.span');
type TracedRequest = FastifyRequest & { [SPAN]?: Span };

/**
 * A SERVER span per HTTP request, continuing an incoming traceparent, active
 * for the whole handler so that Kafka publishes made by it carry the trace on.
 */
export function installRequestTracing(app: FastifyInstance, serviceName: string): void {
  const t = tracer(serviceName);
  app.addHook('onRequest', (request: TracedRequest, _reply, done) => {
    const parent = extractTraceContext(request.headers);
    const route = request.routeOptions.url ?? request.url.split('?')[0] ?? '/';
    if (route === '/healthz' || route === '/readyz') return done();
    const span = t.startSpan(
      `${request.method} ${route}`,
      { kind: SpanKind.SERVER, attributes: { 'http.request.method': request.method, 'http.route': route, 'url.path': request.url.split('?')[0] ?? '' } },
      parent,
    );
    request[SPAN] = span;
    context.with(trace.setSpan(parent, span), done);
  });
  app.addHook('onResponse', (request: TracedRequest, reply, done) => {
    const span = request[SPAN];
    if (span) {
      span.setAttribute('http.response.status_code', reply.statusCode);
      if (reply.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    }
    done();
  });
}
