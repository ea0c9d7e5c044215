import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '@calltrack/config';
import { loadTelephonyIngestConfig } from '../config.js';

const base = { ADMIN_TOKEN: 'ami-admin-token-0123456789' };

describe('telephony-ingest configuration of AMI PBXes and the public URL', () => {
  it('defaults to no PBX and no public base URL', () => {
    const c = loadTelephonyIngestConfig(base);
    assert.deepEqual(c.ASTERISK_AMI_PBXES, []);
    assert.equal(c.PUBLIC_BASE_URL, undefined);
  });

  it('reads PBXes from JSON with defaults for port, name and contexts', () => {
    const c = loadTelephonyIngestConfig({
      ...base,
      ASTERISK_AMI_PBXES: JSON.stringify([{ siteId: 'acme', host: 'pbx.acme.lan', username: 'calltrack', secret: 's3cret' }]),
    });
    assert.deepEqual(c.ASTERISK_AMI_PBXES, [
      {
        siteId: 'acme',
        host: 'pbx.acme.lan',
        port: 5038,
        username: 'calltrack',
        secret: 's3cret',
        name: 'pbx.acme.lan',
        inboundContexts: ['from-trunk', 'from-pstn'],
        outboundContexts: ['from-internal'],
      },
    ]);
  });

  it('names every problem of a bad PBX list', () => {
    const problems = (value: string) => {
      try {
        loadTelephonyIngestConfig({ ...base, ASTERISK_AMI_PBXES: value });
      } catch (err) {
        assert.ok(err instanceof ConfigError);
        return err.problems.join('\n');
      }
      assert.fail('expected a configuration error');
    };
    assert.match(problems('not json'), /ASTERISK_AMI_PBXES: expected a JSON array/);
    assert.match(problems(JSON.stringify([{ siteId: 'Bad Site', host: 'h', username: 'u', secret: 's' }])), /siteId/);
    assert.match(problems(JSON.stringify([{ siteId: 'a', host: 'h', username: 'u', secret: 's', timeZone: 'Mars/Olympus' }])), /time zone/);
    assert.match(problems(JSON.stringify([{ siteId: 'a', host: 'h', username: 'u' }])), /secret/);
    assert.match(
      problems(
        JSON.stringify([
          { siteId: 'a', host: 'h', username: 'u', secret: 's' },
          { siteId: 'a', host: 'h', username: 'u', secret: 's' },
        ]),
      ),
      /unique "name"/,
    );
  });

  it('takes PUBLIC_BASE_URL without its trailing slash and refuses a query', () => {
    assert.equal(
      loadTelephonyIngestConfig({ ...base, PUBLIC_BASE_URL: 'https://hooks.example.com/calltrack/' }).PUBLIC_BASE_URL,
      'https://hooks.example.com/calltrack',
    );
    assert.throws(() => loadTelephonyIngestConfig({ ...base, PUBLIC_BASE_URL: 'https://hooks.example.com/?a=1' }), /PUBLIC_BASE_URL/);
    assert.throws(() => loadTelephonyIngestConfig({ ...base, PUBLIC_BASE_URL: 'ftp://hooks.example.com' }), /PUBLIC_BASE_URL/);
  });
});
