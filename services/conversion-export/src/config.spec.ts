import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '@calltrack/config';
import { loadConversionExportConfig, roundTimeoutMs } from './config.js';

const base = { ADMIN_TOKEN: 'export-admin-token-0123456789' };

describe('conversion-export configuration', () => {
  it('bounds a delivery round by a third of the session timeout by default', () => {
    assert.equal(roundTimeoutMs(loadConversionExportConfig(base)), 5_000);
    assert.equal(roundTimeoutMs(loadConversionExportConfig({ ...base, KAFKA_SESSION_TIMEOUT_MS: '6000' })), 2_000);
    assert.equal(roundTimeoutMs(loadConversionExportConfig({ ...base, EXPORT_ROUND_TIMEOUT_MS: '7000' })), 7_000);
  });

  it('refuses a round longer than half the session timeout, naming both variables', () => {
    assert.throws(
      () => loadConversionExportConfig({ ...base, KAFKA_SESSION_TIMEOUT_MS: '10000', EXPORT_ROUND_TIMEOUT_MS: '5001' }),
      (err: unknown) => err instanceof ConfigError && /EXPORT_ROUND_TIMEOUT_MS: 5001 .*KAFKA_SESSION_TIMEOUT_MS \(10000\)/.test(err.message),
    );
  });
});
