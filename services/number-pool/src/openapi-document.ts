// The OpenAPI 3.1 description of number-pool's admin API, generated from the same
// zod schemas that validate the requests (docs/admin-api.openapi.json is this
// document, checked by the test run).
import { z } from 'zod';
import { addNumberBody, retireNumberBody, rulesBody, siteBody, staticSourceBody } from './admin-schemas.js';
import { redeemPromoCodeBody } from './promo-codes-admin.controller.js';

const schema = (s: z.ZodType) => z.toJSONSchema(s, { io: 'input', unrepresentable: 'any' });

const error = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: { code: { type: 'string' }, message: { type: 'string', description: 'Names the problem (the field, the number, the site).' }, details: {} },
    },
  },
};
const errors = (...codes: number[]) =>
  Object.fromEntries(
    codes.map((c) => [
      String(c),
      { description: ERROR_TEXT[c] ?? 'Error', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
    ]),
  );
const ERROR_TEXT: Record<number, string> = {
  400: 'Invalid request: malformed JSON, unknown or invalid fields, invalid phone numbers.',
  401: 'Missing or wrong admin token.',
  404: 'Unknown site, number or promo code.',
  409: 'Conflict: the number belongs to another site, is retired, or the call is linked to another code.',
  412: 'If-Match names another revision than the current one.',
  413: 'Body too large.',
  415: 'Body is not application/json.',
};
const json = (ref: string) => ({ required: true, content: { 'application/json': { schema: { $ref: `#/components/schemas/${ref}` } } } });
const ok = (description: string) => ({ description, content: { 'application/json': { schema: { type: 'object' } } } });
const site = { name: 'siteId', in: 'path', required: true, schema: { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]{1,62}$' } };
const number = {
  name: 'number',
  in: 'path',
  required: true,
  description: 'E.164 (URL-encode "+") or any format of the site country.',
  schema: { type: 'string' },
};
const ifMatch = { name: 'If-Match', in: 'header', required: false, description: 'The ETag ("<revision>") the change is based on.', schema: { type: 'string' } };

export function adminOpenApiDocument(): object {
  return {
    openapi: '3.1.0',
    info: {
      title: 'number-pool admin API',
      version: '1',
      description:
        'Sites, number inventory, tracking rules, pool statistics and promo-code redemption. Every change is published as the next revision of ' +
        'the site on the sites topic. See docs/admin-api.md and docs/number-pool.md.',
    },
    security: [{ bearer: [] }],
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'ADMIN_TOKEN' } },
      schemas: {
        Error: error,
        Site: schema(siteBody),
        Rules: schema(rulesBody),
        AddNumber: schema(addNumberBody),
        RetireNumber: schema(retireNumberBody),
        StaticSource: schema(staticSourceBody),
        RedeemPromoCode: schema(redeemPromoCodeBody),
      },
    },
    paths: {
      '/v1/admin/sites/{siteId}': {
        put: {
          summary: 'Create or replace a site',
          parameters: [site, ifMatch],
          requestBody: json('Site'),
          responses: { 200: ok('The site at its new revision (ETag header).'), ...errors(400, 401, 409, 412, 413, 415) },
        },
        get: { summary: 'A site configuration', parameters: [site], responses: { 200: ok('The site (ETag header).'), ...errors(401, 404) } },
      },
      '/v1/admin/sites/{siteId}/pool': {
        get: {
          summary:
            'Pool statistics: size, leased, quarantined, utilisation, shortages, peak demand, ' +
            'recommended size, promo codes, calls by number state, live leases',
          parameters: [site],
          responses: { 200: ok('Statistics.'), ...errors(401, 404) },
        },
      },
      '/v1/admin/sites/{siteId}/numbers': {
        get: {
          summary: 'The number inventory with each number state (available, leased, quarantined, retired)',
          parameters: [site],
          responses: { 200: ok('Numbers.'), ...errors(401, 404) },
        },
        post: {
          summary: 'Add a pool or static number',
          parameters: [site, ifMatch],
          requestBody: json('AddNumber'),
          responses: { 201: ok('The inventory entry.'), ...errors(400, 401, 404, 409, 412) },
        },
      },
      '/v1/admin/sites/{siteId}/numbers/{number}/quarantine': {
        post: {
          summary: 'Quarantine a pool number until it has had no calls for the quarantine period',
          parameters: [site, number, ifMatch],
          responses: { 200: ok('The inventory entry.'), ...errors(400, 401, 404, 409, 412) },
        },
      },
      '/v1/admin/sites/{siteId}/numbers/{number}/retire': {
        post: {
          summary: 'Retire a number (kept with its history), optionally replaced by another',
          parameters: [site, number, ifMatch],
          requestBody: json('RetireNumber'),
          responses: { 200: ok('The retired entry and its replacement.'), ...errors(400, 401, 404, 409, 412) },
        },
      },
      '/v1/admin/sites/{siteId}/numbers/{number}/source': {
        put: {
          summary: 'Bind a static number to its source',
          parameters: [site, number, ifMatch],
          requestBody: json('StaticSource'),
          responses: { 200: ok('The inventory entry.'), ...errors(400, 401, 404, 409, 412) },
        },
      },
      '/v1/admin/sites/{siteId}/rules': {
        get: { summary: 'The ordered tracking rules', parameters: [site], responses: { 200: ok('Rules.'), ...errors(401, 404) } },
        put: {
          summary: 'Replace the ordered tracking rules',
          parameters: [site, ifMatch],
          requestBody: json('Rules'),
          responses: { 200: ok('Rules at the new revision.'), ...errors(400, 401, 404, 412) },
        },
      },
      '/v1/admin/sites/{siteId}/promo-codes/{code}/redemptions': {
        post: {
          summary: 'Link a call to the session that was shown a promo code',
          parameters: [site, { name: 'code', in: 'path', required: true, schema: { type: 'string' } }],
          requestBody: json('RedeemPromoCode'),
          responses: { 201: ok('Linked.'), 200: ok('Already linked (duplicate: true).'), ...errors(400, 401, 404, 409) },
        },
      },
      '/v1/admin/ownership': {
        get: {
          summary: 'The pool-commands partitions this instance writes for, how each was rebuilt and its latest snapshot',
          responses: { 200: ok('Partitions.'), ...errors(401) },
        },
      },
      '/v1/admin/ownership/snapshots': {
        post: {
          summary: 'Snapshot every owned partition that changed since its last snapshot, now',
          responses: { 200: ok('The partitions written.'), ...errors(401) },
        },
      },
    },
  };
}
