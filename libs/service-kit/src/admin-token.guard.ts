import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { createHash, timingSafeEqual } from 'node:crypto';
import { ApiError } from './http-errors.js';
import { CONFIG } from './service-core.module.js';

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/** Admin endpoints require `Authorization: Bearer <ADMIN_TOKEN>`; compared in constant time. */
@Injectable()
export class AdminTokenGuard implements CanActivate {
  private readonly expected: Buffer;

  constructor(@Inject(CONFIG) config: { ADMIN_TOKEN: string }) {
    this.expected = digest(config.ADMIN_TOKEN);
  }

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const header = request.headers.authorization ?? '';
    const match = /^Bearer (.+)$/.exec(header);
    if (!match) throw new ApiError(401, 'unauthorized', 'admin endpoints need an Authorization: Bearer token');
    if (!timingSafeEqual(digest(match[1]!), this.expected)) throw new ApiError(403, 'forbidden', 'admin token is not valid');
    return true;
  }
}
