import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NestFactory } from '@nestjs/core';
import { testLogger } from '@calltrack/testing';
import { AttributionModule } from './attribution.module.js';
import type { AttributionConfig } from './config.js';

describe('AttributionModule', () => {
  // Each capability folder has its own module: a provider one of them needs but does not
  // import would only fail when the service starts. Preview mode resolves the whole graph
  // without creating anything (no ClickHouse, no broker).
  it('resolves every provider and controller of the capability modules', async () => {
    const app = await NestFactory.createApplicationContext(AttributionModule.register({} as AttributionConfig, testLogger), {
      preview: true,
      abortOnError: false,
      logger: false,
    });
    assert.ok(app);
    await app.close();
  });
});
