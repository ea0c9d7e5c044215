import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { createHash, timingSafeEqual } from 'node:crypto';
import { ApiError } from './http-errors.js';
import { RateLimits, siteOfRequest, type RateLimitPolicy } from './rate-limits.js';
import { RefusalLog } from './refusal-log.js';
import { CONFIG } from './tokens.js';

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

export type BearerToken = { ok: true; token: string } | { ok: false; reason: 'missing' | 'malformed' | 'duplicate' };

/**
 * The token of `Authorization: Bearer <token>` (RFC 6750; the scheme is
 * case-insensitive, RFC 7235). `values` are every Authorization value the
 * request carried: two of them are refused, whatever they say, because
 * proxies and frameworks disagree about which one wins.
 */
export function bearerToken(values: readonly string[]): BearerToken {
  if (values.length === 0) return { ok: false, reason: 'missing' };
  // Two headers, or two credentials folded into one by a proxy or client ("Bearer a, Bearer b").
  if (values.length > 1 || /,\s*bearer\b/i.test(values[0]!)) return { ok: false, reason: 'duplicate' };
  // Any token the operator configured (ADMIN_TOKEN is free text), without the surrounding spaces.
  const match = /^bearer +(.*\S) *$/i.exec(values[0]!);
  return match ? { ok: true, token: match[1]! } : { ok: false, reason: 'malformed' };
}

/** Every Authorization header of a request: Node keeps only the first in request.headers, the raw list has them all. */
export function authorizationHeaders(request: FastifyRequest): string[] {
  const raw = request.raw.rawHeaders;
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) if (raw[i]!.toLowerCase() === 'authorization') out.push(raw[i + 1]!);
  return out;
}

/** Same-length digests compared in constant time. */
export function tokenMatches(token: string, expected: string): boolean {
  return timingSafeEqual(digest(token), digest(expected));
}

interface AdminGuardConfig {
  ADMIN_TOKEN: string;
  ADMIN_RATE_LIMIT_PER_ADDRESS_PER_MINUTE?: number;
  ADMIN_RATE_LIMIT_PER_SITE_PER_MINUTE?: number;
}

/**
 * Admin endpoints require `Authorization: Bearer <ADMIN_TOKEN>` (compared in constant
 * time), within the admin rate limits (checked first, so guessing tokens is throttled too).
 * Refusals are counted and logged sampled.
 */
@Injectable()
export class AdminTokenGuard implements CanActivate {
  private readonly expected: string;
  private readonly policy: RateLimitPolicy;

  constructor(
    @Inject(CONFIG) config: AdminGuardConfig,
    private readonly limits: RateLimits,
    private readonly refusals: RefusalLog,
  ) {
    this.expected = config.ADMIN_TOKEN;
    this.policy = {
      scope: 'admin',
      perAddress: { points: config.ADMIN_RATE_LIMIT_PER_ADDRESS_PER_MINUTE ?? 1200, seconds: 60 },
      perSite: { points: config.ADMIN_RATE_LIMIT_PER_SITE_PER_MINUTE ?? 3000, seconds: 60 },
    };
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const http = context.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const siteId = siteOfRequest(request);
    await this.limits.consume(this.policy, request, http.getResponse<FastifyReply>(), siteId);
    const bearer = bearerToken(authorizationHeaders(request));
    const refuse = (reason: string, status: number): void =>
      this.refusals.refused('admin', siteId, reason, { event: 'admin_refused', status, ip: request.ip, route: request.routeOptions.url });
    if (!bearer.ok) {
      refuse(`authorization_${bearer.reason}`, bearer.reason === 'duplicate' ? 400 : 401);
      if (bearer.reason === 'duplicate') throw new ApiError(400, 'duplicate_authorization', 'send exactly one Authorization header');
      throw new ApiError(401, 'unauthorized', 'admin endpoints need an Authorization: Bearer token');
    }
    if (!tokenMatches(bearer.token, this.expected)) {
      refuse('invalid_token', 403);
      throw new ApiError(403, 'forbidden', 'admin token is not valid');
    }
    return true;
  }
}
