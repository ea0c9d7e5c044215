// The service kit's abuse defences without a server: sampled refusal lines, bearer
// parsing, the trusted-proxy option.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Logger } from '@calltrack/telemetry';
import { bearerToken } from './admin-token.guard.js';
import { RefusalLog } from './refusal-log.js';
import { trustProxyOption } from './service-bootstrap.js';

/** The lines a RefusalLog writes, as pino would get them. */
function capturedLogger(): { lines: Array<Record<string, unknown>>; logger: Logger } {
  const lines: Array<Record<string, unknown>> = [];
  const logger = { warn: (fields: Record<string, unknown>) => void lines.push({ ...fields, level: 'warn' }) } as unknown as Logger;
  return { lines, logger };
}

const flushed = (): Promise<void> => Promise.resolve();

describe('RefusalLog', () => {
  it('counts every refusal and writes at most one line per scope, site, reason and minute', async () => {
    const { lines, logger } = capturedLogger();
    const log = new RefusalLog(logger);
    const minute = 29_000_000 * 60_000;
    // A flood within one minute: 1,000 forged webhooks for site a, 500 for site b, 300 throttled for a.
    for (let i = 0; i < 1000; i += 1) log.refused('webhooks.generic', 'a', 'signature_mismatch', { ip: '198.51.100.1' }, minute + i);
    for (let i = 0; i < 500; i += 1) log.refused('webhooks.generic', 'b', 'signature_mismatch', {}, minute + 1000 + i);
    for (let i = 0; i < 300; i += 1) log.refused('webhooks.generic', 'a', 'stale_timestamp', {}, minute + 2000 + i);
    await flushed();
    assert.equal(lines.length, 3, JSON.stringify(lines));
    assert.deepEqual(
      lines.map((l) => [l['site_id'], l['reason']]),
      [
        ['a', 'signature_mismatch'],
        ['b', 'signature_mismatch'],
        ['a', 'stale_timestamp'],
      ],
    );
    assert.deepEqual(log.of('webhooks.generic', 'a'), { signature_mismatch: 1000, stale_timestamp: 300 });
    assert.deepEqual(log.of('webhooks.generic', 'b'), { signature_mismatch: 500 });

    // The next minute: one more line for the key, carrying what the previous minute did not log.
    log.refused('webhooks.generic', 'a', 'signature_mismatch', {}, minute + 60_000);
    log.refused('webhooks.generic', 'a', 'signature_mismatch', {}, minute + 60_001);
    await flushed();
    assert.equal(lines.length, 4);
    assert.equal(lines[3]!['not_logged_since_last_line'], 999);
    assert.equal(lines[3]!['total'], 1001);
    assert.equal(lines[3]!['level'], 'warn');
  });

  it('stays bounded under made-up site ids', () => {
    const { logger } = capturedLogger();
    const log = new RefusalLog(logger);
    for (let i = 0; i < 60_000; i += 1) log.refused('admin', `site-${i}`, 'invalid_token', {}, 0);
    assert.deepEqual(log.of('admin', 'site-59999'), { invalid_token: 1 });
    assert.deepEqual(log.of('admin', 'site-0'), {}, 'the oldest counters are dropped first');
  });
});

describe('bearerToken', () => {
  it('accepts the scheme in any case, with the token trimmed', () => {
    for (const header of ['Bearer tok-0123456789abcdef', 'bearer tok-0123456789abcdef', 'BEARER  tok-0123456789abcdef ']) {
      assert.deepEqual(bearerToken([header]), { ok: true, token: 'tok-0123456789abcdef' }, header);
    }
  });

  it('refuses two Authorization headers, also folded into one, and other schemes', () => {
    assert.deepEqual(bearerToken(['Bearer a-token-0123456789', 'Bearer b-token-0123456789']), { ok: false, reason: 'duplicate' });
    assert.deepEqual(bearerToken(['Bearer a-token-0123456789, Bearer b-token-0123456789']), { ok: false, reason: 'duplicate' });
    assert.deepEqual(bearerToken([]), { ok: false, reason: 'missing' });
    assert.deepEqual(bearerToken(['Basic dXNlcjpwYXNz']), { ok: false, reason: 'malformed' });
    assert.deepEqual(bearerToken(['Bearer ']), { ok: false, reason: 'malformed' });
    assert.deepEqual(bearerToken(['Bearertoken-0123456789']), { ok: false, reason: 'malformed' });
  });
});

describe('trustProxyOption', () => {
  it('trusts nobody unless proxies are listed', () => {
    assert.equal(trustProxyOption(undefined), false);
    assert.equal(trustProxyOption(''), false);
    assert.equal(trustProxyOption('none'), false);
    assert.equal(trustProxyOption('false'), false);
    assert.deepEqual(trustProxyOption('10.1.0.0/16, loopback'), ['10.1.0.0/16', 'loopback']);
  });
});
