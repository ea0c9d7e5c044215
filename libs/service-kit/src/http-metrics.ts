import { counter, histogram, LATENCY_BUCKETS } from '@calltrack/telemetry';
import type { FastifyInstance } from 'fastify';

const METHODS = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS']);

/**
 * calltrack_http_requests_total{route,method,status} and calltrack_http_request_duration_seconds{route,method}.
 * `route` is the route pattern (/v1/sites/:siteId/...), never the URL: ids in paths would make
 * one series per site or call. A request no route matched (404 of an unknown path, a scan) is
 * counted under "unmatched"; an unusual method under "other".
 */
export function installHttpMetrics(app: FastifyInstance): void {
  const requests = counter({
    name: 'calltrack_http_requests_total',
    help: 'HTTP requests answered, by route pattern, method and status code.',
    labelNames: ['route', 'method', 'status'] as const,
  });
  const duration = histogram({
    name: 'calltrack_http_request_duration_seconds',
    help: 'Time from receiving an HTTP request to sending the answer, by route pattern and method.',
    labelNames: ['route', 'method'] as const,
    buckets: LATENCY_BUCKETS,
  });
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const method = METHODS.has(request.method) ? request.method : 'other';
    requests.inc({ route, method, status: String(reply.statusCode) });
    duration.observe({ route, method }, reply.elapsedTime / 1000);
    done();
  });
}
