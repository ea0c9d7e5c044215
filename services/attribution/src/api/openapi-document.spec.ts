// Every HTTP route of attribution's controllers is in its OpenAPI document, and the
// document names no route that does not exist.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RequestMethod } from '@nestjs/common';
import { PATH_METADATA, METHOD_METADATA } from '@nestjs/common/constants.js';
import { ATTRIBUTION_CONTROLLERS } from '../attribution.module.js';
import { attributionOpenApiDocument } from './openapi-document.js';

type Controller = new (...args: never[]) => object;

function routes(): string[] {
  const controllers = ATTRIBUTION_CONTROLLERS as Controller[];
  const out: string[] = [];
  for (const controller of controllers) {
    const base = String(Reflect.getMetadata(PATH_METADATA, controller) ?? '');
    for (const name of Object.getOwnPropertyNames(controller.prototype)) {
      const handler = (controller.prototype as Record<string, unknown>)[name];
      if (name === 'constructor' || typeof handler !== 'function' || Reflect.getMetadata(METHOD_METADATA, handler) === undefined) continue;
      const method = RequestMethod[Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod].toLowerCase();
      const path = `/${base}/${String(Reflect.getMetadata(PATH_METADATA, handler))}`
        .replace(/\/+$/, '')
        .replace(/\/{2,}/g, '/')
        .replace(/:(\w+)/g, '{$1}')
        // The call id is a wildcard at the end of the path (it may hold "/").
        .replace(/\*$/, '{callId}');
      out.push(`${method} ${path}`);
    }
  }
  return out.sort();
}

describe('attribution OpenAPI document', () => {
  it('documents every route the controllers serve, and nothing else', () => {
    const doc = attributionOpenApiDocument() as { paths: Record<string, Record<string, unknown>> };
    const documented = Object.entries(doc.paths)
      .flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m} ${path}`))
      .sort();
    const served = routes().filter((r) => r !== 'get /v1/openapi.json');
    assert.ok(served.length >= 15, `found ${served.length} routes`);
    assert.deepEqual(documented, served);
  });

  it('carries the request schemas generated from the zod validators', () => {
    const doc = attributionOpenApiDocument() as { components: { schemas: Record<string, { properties?: Record<string, unknown> }> } };
    assert.ok(doc.components.schemas['AttributionSettings']?.properties?.['lookbackDays']);
    assert.ok(doc.components.schemas['CallComment']?.properties?.['text']);
  });
});
