import { ArgumentsHost, Catch, HttpException, HttpStatus, type ExceptionFilter } from '@nestjs/common';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { PUBLISH_RETRY_AFTER_SECONDS, PublishUnavailableError } from '@calltrack/kafka';
import type { Logger } from '@calltrack/telemetry';

/** The one error shape of every HTTP endpoint: a stable code, a message that names the problem, optional details. */
export interface ApiErrorBody {
  error: { code: string; message: string; details?: unknown };
}

/** Throw from controllers: becomes a JSON error response with this status and code. */
export class ApiError extends HttpException {
  constructor(
    status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super({ error: { code, message, ...(details === undefined ? {} : { details }) } } satisfies ApiErrorBody, status);
  }
}

const FASTIFY_CODES: Record<string, string> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_BODY_TOO_LARGE: 'body_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid_content_length',
};

function fromUnknown(err: unknown): { status: number; body: ApiErrorBody } {
  // Any path that publishes (webhooks, enquiries, sessions, admin writes): not durable in time is "retry later", never a 500 or a hang.
  if (err instanceof PublishUnavailableError) {
    return { status: HttpStatus.SERVICE_UNAVAILABLE, body: { error: { code: 'unavailable', message: 'the change could not be stored in time; retry later' } } };
  }
  // Nest wraps Fastify's own errors (body parsing) in an HttpException; name them by Fastify's code.
  const cause = err instanceof HttpException ? (err.cause as Partial<FastifyError> | undefined) : undefined;
  if (cause?.code && FASTIFY_CODES[cause.code] && err instanceof HttpException) {
    return { status: err.getStatus(), body: { error: { code: FASTIFY_CODES[cause.code]!, message: cause.message ?? err.message } } };
  }
  if (err instanceof HttpException) {
    const status = err.getStatus();
    const response = err.getResponse();
    if (typeof response === 'object' && response !== null && 'error' in response && typeof (response as ApiErrorBody).error === 'object') {
      return { status, body: response as ApiErrorBody };
    }
    const message = typeof response === 'string' ? response : ((response as { message?: string }).message ?? err.message);
    return {
      status,
      body: { error: { code: status === 404 ? 'not_found' : `http_${status}`, message: Array.isArray(message) ? message.join('; ') : String(message) } },
    };
  }
  const fe = err as Partial<FastifyError>;
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    // Body parsing errors (invalid JSON, too large, wrong media type) are raised by Fastify before any handler runs.
    const code = (fe.code && FASTIFY_CODES[fe.code]) ?? `http_${fe.statusCode}`;
    return { status: fe.statusCode, body: { error: { code, message: fe.message ?? 'bad request' } } };
  }
  return { status: HttpStatus.INTERNAL_SERVER_ERROR, body: { error: { code: 'internal', message: 'internal error' } } };
}

@Catch()
export class JsonExceptionFilter implements ExceptionFilter {
  constructor(private readonly logger: Logger) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const request = host.switchToHttp().getRequest<FastifyRequest>();
    const { status, body } = fromUnknown(exception);
    if (status >= 500) this.logger.error({ event: 'http_request_failed', method: request.method, url: request.url, err: exception });
    // Every 503 (events not durable in time, a service still starting) is temporary: say when to come back.
    if (status === Number(HttpStatus.SERVICE_UNAVAILABLE) && !reply.hasHeader('retry-after'))
      void reply.header('retry-after', String(PUBLISH_RETRY_AFTER_SECONDS));
    void reply.status(status).header('content-type', 'application/json; charset=utf-8').send(body);
  }
}
