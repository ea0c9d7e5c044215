import type { FastifyInstance } from 'fastify';

/**
 * Headers on every answer: `X-Content-Type-Options: nosniff` (a browser never
 * reads a JSON or text answer as HTML or script), and `Cache-Control: no-store` on
 * JSON answers that did not set their own caching: API answers carry calls,
 * visitors, enquiries and sessions, which no browser or shared cache may keep.
 * Answers that are meant to be cached (the tracker script, with its ETag) set
 * Cache-Control themselves and keep it.
 */
export function installSecurityHeaders(app: FastifyInstance): void {
  app.addHook('onSend', (_request, reply, payload, done) => {
    reply.header('x-content-type-options', 'nosniff');
    const type = String(reply.getHeader('content-type') ?? '');
    if (/^application\/(?:[\w.+-]+\+)?json\b/i.test(type) && !reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    done(null, payload);
  });
}
