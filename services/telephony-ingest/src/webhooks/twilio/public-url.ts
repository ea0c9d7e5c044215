import type { FastifyRequest } from 'fastify';

/**
 * The full URL a provider requested, for signatures over the URL (Twilio):
 * PUBLIC_BASE_URL + the path and query as received when configured (a proxy
 * may strip a path prefix: include it in the base), else rebuilt from the
 * request. Fastify takes the scheme and host from X-Forwarded-Proto and
 * X-Forwarded-Host only when the request comes from a proxy HTTP_TRUST_PROXY
 * trusts, so a client cannot choose the URL it is verified against.
 */
export function requestedUrl(req: FastifyRequest, publicBaseUrl: string | undefined): string {
  if (publicBaseUrl) return `${publicBaseUrl}${req.url}`;
  return `${req.protocol}://${req.host}${req.url}`;
}
