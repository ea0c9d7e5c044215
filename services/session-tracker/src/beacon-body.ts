import type { NestFastifyApplication } from '@nestjs/platform-fastify';

/**
 * Public endpoints also take JSON sent as text/plain: the tracker sends it that
 * way so cross-origin calls stay "simple" (no CORS preflight), and
 * navigator.sendBeacon can only send text/plain. The body is parsed as strictly
 * as application/json; invalid JSON is the same 400 invalid_json.
 */
export async function acceptJsonAsTextPlain(app: NestFastifyApplication): Promise<void> {
  const fastify = app.getHttpAdapter().getInstance();
  fastify.addContentTypeParser('text/plain', { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, JSON.parse(body as string));
    } catch {
      const error = Object.assign(new Error('Body is not valid JSON'), { statusCode: 400, code: 'FST_ERR_CTP_INVALID_JSON_BODY' });
      done(error, undefined);
    }
  });
}
