// The OpenAPI 3.1 description of attribution's HTTP API (calls, enquiries, leads, reports,
// settings, recompute, tags and comments), generated from the zod schemas that validate
// the requests where there are any (docs/attribution-api.openapi.json is this document,
// checked by the test run).
import { z } from 'zod';
import { settingsBodySchema } from '../settings/attribution-settings.js';
import { commentBody, tagBody } from './call-annotations.controller.js';
import { ATTRIBUTION_MODELS } from '../models/attribution-models.js';
import { adCostImportSchema, revenueBodySchema } from '../reports/ad-costs.js';
import { SEGMENTS, SOURCE_LEVELS } from '../reports/report-queries.js';

const schema = (s: z.ZodType) => z.toJSONSchema(s, { io: 'input', unrepresentable: 'any' });

const ERROR_TEXT: Record<number, string> = {
  400: 'Invalid request: malformed JSON, unknown or invalid fields or query parameters, a bad range.',
  401: 'Missing or wrong admin token.',
  404: 'Unknown site, call or job.',
  412: 'If-Match names another revision than the current one.',
  413: 'Body too large.',
  415: 'Body is not application/json.',
};
const errors = (...codes: number[]) =>
  Object.fromEntries(
    codes.map((c) => [
      String(c),
      { description: ERROR_TEXT[c] ?? 'Error', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
    ]),
  );
const json = (ref: string) => ({ required: true, content: { 'application/json': { schema: { $ref: `#/components/schemas/${ref}` } } } });
const ok = (description: string) => ({ description, content: { 'application/json': { schema: { type: 'object' } } } });

const site = { name: 'siteId', in: 'path', required: true, schema: { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]{1,62}$' } };
const callId = {
  name: 'callId',
  in: 'path',
  required: true,
  description: 'Platform call id "<provider>:<provider call id>", URL-encoded.',
  schema: { type: 'string', maxLength: 256 },
};
const time = (name: string, description: string) => ({ name, in: 'query', required: false, description, schema: { type: 'string', format: 'date-time' } });
const from = time('from', 'Start of the range (inclusive), ISO 8601 with a zone. Default: `to` minus 30 days.');
const to = time('to', 'End of the range (exclusive). Default: now. A range is at most 366 days.');
const limit = {
  name: 'limit',
  in: 'query',
  required: false,
  description: '1..1000, default 100.',
  schema: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
};
const model = {
  name: 'model',
  in: 'query',
  required: false,
  description: "Attribution model; default: the site's default model.",
  schema: { type: 'string', enum: [...ATTRIBUTION_MODELS] },
};
const ifMatch = { name: 'If-Match', in: 'header', required: false, description: 'The ETag ("<revision>") the change is based on.', schema: { type: 'string' } };
const operator = {
  name: 'X-Operator',
  in: 'header',
  required: false,
  description: 'Who made the change (recorded with it).',
  schema: { type: 'string', maxLength: 200 },
};

export function attributionOpenApiDocument(): object {
  return {
    openapi: '3.1.0',
    info: {
      title: 'attribution API',
      version: '1',
      description:
        "Attributed calls, enquiries and leads, reports, per-site attribution settings and the recompute of a site's history, tags and comments. " +
        'Reads come from ClickHouse; every change is an event on Kafka. See docs/attribution.md, docs/enquiries.md and docs/clickhouse-schema.md.',
    },
    security: [{ bearer: [] }],
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'ADMIN_TOKEN' } },
      schemas: {
        Error: {
          type: 'object',
          required: ['error'],
          properties: {
            error: {
              type: 'object',
              required: ['code', 'message'],
              properties: {
                code: { type: 'string' },
                message: { type: 'string', description: 'Names the problem (the field, the site, the call).' },
                details: {},
              },
            },
          },
        },
        AttributionSettings: schema(settingsBodySchema),
        CallTag: schema(tagBody),
        CallComment: schema(commentBody),
        AdCostImport: schema(adCostImportSchema),
        ConversionRevenue: schema(revenueBodySchema),
      },
    },
    paths: {
      '/v1/sites/{siteId}/calls': {
        get: {
          summary: 'Calls that started in [from, to), newest first, in their latest state: origin, match method and confidence, classification',
          parameters: [site, from, to, limit],
          responses: { 200: ok('{siteId, from, to, calls}'), ...errors(400, 401) },
        },
      },
      '/v1/sites/{siteId}/calls/{callId}': {
        get: { summary: 'One call in its latest state', parameters: [site, callId], responses: { 200: ok('The call.'), ...errors(400, 401, 404) } },
      },
      '/v1/sites/{siteId}/enquiries': {
        get: {
          summary: 'Enquiries (forms, callback requests, chats) that occurred in [from, to), newest first, with their origin',
          parameters: [site, from, to, limit],
          responses: { 200: ok('{siteId, from, to, enquiries}'), ...errors(400, 401) },
        },
      },
      '/v1/sites/{siteId}/leads': {
        get: {
          summary: "Leads (one person's calls and enquiries within the lead window) whose first contact was in [from, to)",
          parameters: [site, from, to, limit],
          responses: { 200: ok('{siteId, from, to, leads}'), ...errors(400, 401) },
        },
      },
      '/v1/sites/{siteId}/report/channels': {
        get: {
          summary: 'Visits and calls per channel, utm_source and utm_medium',
          parameters: [site, from, to],
          responses: { 200: ok('{siteId, from, to, rows}'), ...errors(400, 401) },
        },
      },
      '/v1/sites/{siteId}/report/attribution': {
        get: {
          summary: 'Calls credited to channel and source under one model (fractions of calls)',
          parameters: [site, from, to, model],
          responses: { 200: ok('{siteId, model, from, to, rows}'), ...errors(400, 401) },
        },
      },
      '/v1/sites/{siteId}/reports/sources': {
        get: {
          summary:
            '(a) Visits, calls credited under a model, unique, first, target and missed calls, conversion rate, cost, cost per (target) call, revenue ' +
            'and ROMI per source down to keyword',
          parameters: [
            site,
            from,
            to,
            model,
            {
              name: 'level',
              in: 'query',
              required: false,
              description: 'Grouping: channel; + utm_source and utm_medium; + campaign; + keyword (utm_term).',
              schema: { type: 'string', enum: [...SOURCE_LEVELS], default: 'source' },
            },
          ],
          responses: { 200: ok('{siteId, from, to, timeZone, level, model, totals, rows: [{key, visits, calls, ...}]}'), ...errors(400, 401, 404) },
        },
      },
      '/v1/sites/{siteId}/reports/day-by-hour': {
        get: {
          summary: "(b) Visits, calls, target and missed calls per day and hour of the site's time zone",
          parameters: [site, from, to],
          responses: { 200: ok('{rows: [{day, hour, weekday, visits, calls, targetCalls, missedCalls}]}'), ...errors(400, 401, 404) },
        },
      },
      '/v1/sites/{siteId}/reports/segments': {
        get: {
          summary: '(c) Visits and calls per device, browser, OS, country, region, city or landing page (calls under the visit they were matched to)',
          parameters: [site, from, to, { name: 'by', in: 'query', required: true, schema: { type: 'string', enum: [...SEGMENTS] } }],
          responses: { 200: ok('{by, rows: [{key, visits, calls, targetCalls, missedCalls, conversionRate}]}'), ...errors(400, 401, 404) },
        },
      },
      '/v1/sites/{siteId}/reports/paths': {
        get: {
          summary: '(d) Multi-channel sequences: top paths, path lengths, time lag from first touch, assisted against last-click conversions per channel',
          parameters: [site, from, to, { name: 'top', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 100, default: 20 } }],
          responses: { 200: ok('{conversions, topPaths, pathLengths, timeLag, assisted}'), ...errors(400, 401, 404) },
        },
      },
      '/v1/sites/{siteId}/reports/missed': {
        get: {
          summary: '(e) Missed calls: summary (called back, not called back, pending, outside hours) and the calls of one call-back status',
          parameters: [
            site,
            from,
            to,
            limit,
            {
              name: 'status',
              in: 'query',
              required: false,
              schema: { type: 'string', enum: ['not_called_back', 'pending', 'called_back', 'all'], default: 'not_called_back' },
            },
          ],
          responses: { 200: ok('{summary, calls}'), ...errors(400, 401, 404) },
        },
      },
      '/v1/sites/{siteId}/reports/models': {
        get: {
          summary: "(g) Each channel's calls under every attribution model, side by side, and the learnt models in force",
          parameters: [site, from, to],
          responses: {
            200: ok(
              '{models, rows: [{channel, credits: {model: calls}}], learntModels}: learntModels (null before any was learnt) gives per channel the ' +
                'removal effect, share, conversions, conversionValue (revenue of the calls learnt from, credited as they are) and credit ' +
                'weight under the Markov model, and the same under Shapley.',
            ),
            ...errors(400, 401, 404),
          },
        },
      },
      '/v1/sites/{siteId}/visitors': {
        get: {
          summary: "(f) The visitor card of a caller's phone: the person's visits (all devices), calls, enquiries and sources",
          parameters: [
            site,
            { name: 'phone', in: 'query', required: true, description: "Any format of the site's country.", schema: { type: 'string', maxLength: 40 } },
            limit,
          ],
          responses: { 200: ok('{visitorIds, phones, summary, sources, visits, calls, enquiries}'), ...errors(400, 401, 404) },
        },
      },
      '/v1/sites/{siteId}/visitors/{visitorId}': {
        get: {
          summary: "(f) The visitor card: one visitor's visits, calls, enquiries and sources, with their other devices found by phone",
          parameters: [site, { name: 'visitorId', in: 'path', required: true, schema: { type: 'string', pattern: '^[\\w.-]{1,64}$' } }, limit],
          responses: { 200: ok('{visitorIds, phones, summary, sources, visits, calls, enquiries}'), ...errors(400, 401, 404) },
        },
      },
      '/v1/admin/sites/{siteId}/ad-costs': {
        post: {
          summary: 'Import ad costs per day, source, medium, campaign and keyword (up to 20 000 rows); a row of the same day and keys replaces an earlier one',
          parameters: [site, operator],
          requestBody: json('AdCostImport'),
          responses: { 202: ok('{importId, rows, events, from, to}'), ...errors(400, 401, 404, 413, 415) },
        },
        get: {
          summary: 'Cost rows of the days from..to (inclusive)',
          parameters: [
            site,
            { name: 'from', in: 'query', required: true, schema: { type: 'string', format: 'date' } },
            { name: 'to', in: 'query', required: true, schema: { type: 'string', format: 'date' } },
          ],
          responses: { 200: ok('{rows}'), ...errors(400, 401) },
        },
      },
      '/v1/admin/sites/{siteId}/revenue/{callId}': {
        put: {
          summary: 'The revenue of a call (or an enquiry, "enquiry:<id>"): the latest record wins, 0 clears it',
          parameters: [site, callId],
          requestBody: json('ConversionRevenue'),
          responses: { 200: ok('{callId, amount, currency, dealId, recordedAt}'), ...errors(400, 401, 404) },
        },
      },
      '/v1/admin/sites/{siteId}/attribution-settings': {
        get: {
          summary: "The site's attribution settings at their current revision (ETag header)",
          parameters: [site],
          responses: { 200: ok('{siteId, revision, changedAt, changedBy, settings}'), ...errors(401, 404) },
        },
        put: {
          summary: 'Replace the settings (a field left out takes its default); publishes the next revision and starts a recompute of the history',
          parameters: [site, ifMatch, operator],
          requestBody: json('AttributionSettings'),
          responses: { 200: ok('The settings at the new revision, with the recompute job started.'), ...errors(400, 401, 404, 412, 413, 415) },
        },
      },
      '/v1/admin/sites/{siteId}/attribution/recompute': {
        post: {
          summary: "Recompute the site's history (calls, then enquiries) under the current settings",
          parameters: [site, operator],
          responses: { 202: ok('{jobId, status, statusUrl, ...}'), ...errors(400, 401, 404) },
        },
      },
      '/v1/admin/sites/{siteId}/attribution/recompute/{jobId}': {
        get: {
          summary: 'A recompute job: status (running, done, failed, superseded), calls and enquiries evaluated and changed, duration',
          parameters: [site, { name: 'jobId', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } }],
          responses: { 200: ok('The job.'), ...errors(400, 401, 404) },
        },
      },
      '/v1/admin/sites/{siteId}/attribution/data-driven-model': {
        get: {
          summary: "The site's learnt models in force: data-driven (Markov removal effects) and Shapley",
          parameters: [site],
          responses: {
            200: ok(
              'Per channel: removal effect, share, conversions, conversion value and credit weight under each model; paths, conversion probability, ' +
                'chain order, fit error.',
            ),
            ...errors(401, 404),
          },
        },
        post: {
          summary: 'Learn the data-driven and Shapley models again from all paths now',
          parameters: [site],
          responses: { 200: ok('The new model.'), ...errors(400, 401, 404) },
        },
      },
      '/v1/admin/sites/{siteId}/call-annotations/{callId}': {
        get: { summary: "A call's tags and comments", parameters: [site, callId], responses: { 200: ok('{tags, comments}'), ...errors(400, 401, 404) } },
      },
      '/v1/admin/sites/{siteId}/call-tags/{tag}/{callId}': {
        put: {
          summary: 'Tag a call (idempotent)',
          parameters: [site, { name: 'tag', in: 'path', required: true, schema: { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]{0,39}$' } }, callId],
          requestBody: { ...json('CallTag'), required: false },
          responses: { 200: ok('{siteId, callId, tag, tagged: true}'), ...errors(400, 401, 404) },
        },
        delete: {
          summary: 'Remove a tag from a call',
          parameters: [site, { name: 'tag', in: 'path', required: true, schema: { type: 'string' } }, callId],
          responses: { 200: ok('{siteId, callId, tag, tagged: false}'), ...errors(400, 401, 404) },
        },
      },
      '/v1/admin/sites/{siteId}/call-comments/{callId}': {
        post: {
          summary: 'Comment on a call',
          parameters: [site, callId],
          requestBody: json('CallComment'),
          responses: { 201: ok('The comment.'), ...errors(400, 401, 404, 413) },
        },
      },
    },
  };
}
