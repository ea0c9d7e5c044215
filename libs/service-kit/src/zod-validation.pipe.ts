import { Injectable, type PipeTransform } from '@nestjs/common';
import { SITE_ID_PATTERN, SITE_ID_RULE } from '@calltrack/contracts';
import { z } from 'zod';
import { ApiError } from './http-errors.js';

/** Validates a request part (body, params, query) with a zod schema; 400 names every offending field. */
@Injectable()
export class ZodValidationPipe<S extends z.ZodType> implements PipeTransform<unknown, z.infer<S>> {
  constructor(
    private readonly schema: S,
    private readonly what: string = 'body',
  ) {}

  transform(value: unknown): z.infer<S> {
    if (value === undefined || value === null) throw new ApiError(400, 'invalid_request', `request ${this.what} is missing`);
    const result = this.schema.safeParse(value);
    if (result.success) return result.data;
    const details = result.error.issues.map((i) => ({ field: i.path.join('.') || '(root)', problem: i.message }));
    const summary = details.map((d) => `${d.field}: ${d.problem}`).join('; ');
    throw new ApiError(400, 'invalid_request', `invalid ${this.what}: ${summary}`, details);
  }
}

/** Validates a `:siteId` route parameter. */
export const siteIdPipe = new ZodValidationPipe(z.string().regex(SITE_ID_PATTERN, SITE_ID_RULE), 'site id');
