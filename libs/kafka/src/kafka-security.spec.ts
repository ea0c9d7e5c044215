import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { commonVariables, ConfigError, loadConfig } from '@calltrack/config';
import { z } from 'zod';
import { kafkaSettingsFromConfig } from './kafka-client.js';

// The Kafka security variables as every service reads them: validated together at start-up
// (bad combinations refused, with every problem listed and no secret echoed), then turned
// into kafkajs' ssl/sasl options with the files read.
describe('Kafka TLS and SASL configuration', () => {
  const schema = z.object(commonVariables);
  let dir: string;
  let ca: string;
  let cert: string;
  let key: string;
  let passwordFile: string;
  const SECRET = 'scram-password-do-not-echo';

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'calltrack-kafka-security-'));
    ca = join(dir, 'ca.crt');
    cert = join(dir, 'tls.crt');
    key = join(dir, 'tls.key');
    passwordFile = join(dir, 'password');
    writeFileSync(ca, '-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n');
    writeFileSync(cert, '-----BEGIN CERTIFICATE-----\nCLIENT\n-----END CERTIFICATE-----\n');
    writeFileSync(key, '-----BEGIN PRIVATE KEY-----\nKEY\n-----END PRIVATE KEY-----\n');
    writeFileSync(passwordFile, `${SECRET}\n`);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const load = (env: Record<string, string>) => loadConfig('test', schema, { KAFKA_BROKERS: 'kafka:9093', ...env });
  const refused = (env: Record<string, string>, ...why: RegExp[]): void => {
    assert.throws(
      () => load(env),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError, String(err));
        for (const w of why) assert.match(err.message, w);
        assert.ok(!err.message.includes(SECRET), 'no secret in the message');
        return true;
      },
    );
  };

  it('refuses TLS files without KAFKA_SSL, a certificate without its key and the reverse', () => {
    refused({ KAFKA_SSL_CA_FILE: ca }, /KAFKA_SSL_CA_FILE: is set but KAFKA_SSL is not true/);
    refused({ KAFKA_SSL: 'true', KAFKA_SSL_CERT_FILE: cert }, /KAFKA_SSL_CERT_FILE: needs KAFKA_SSL_KEY_FILE/);
    refused({ KAFKA_SSL: 'true', KAFKA_SSL_KEY_FILE: key }, /KAFKA_SSL_KEY_FILE: needs KAFKA_SSL_CERT_FILE/);
    refused({ KAFKA_SSL: 'true', KAFKA_SSL_CA_FILE: join(dir, 'missing.crt') }, /KAFKA_SSL_CA_FILE: cannot read .*missing\.crt/);
  });

  it('refuses SASL without a user or a password, with both passwords, PLAIN without TLS, and credentials without a mechanism', () => {
    refused({ KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_PASSWORD: SECRET }, /KAFKA_SASL_USERNAME: required with KAFKA_SASL_MECHANISM=scram-sha-512/);
    refused({ KAFKA_SASL_MECHANISM: 'scram-sha-256', KAFKA_SASL_USERNAME: 'attribution' }, /needs KAFKA_SASL_PASSWORD or KAFKA_SASL_PASSWORD_FILE/);
    refused(
      { KAFKA_SASL_MECHANISM: 'scram-sha-256', KAFKA_SASL_USERNAME: 'attribution', KAFKA_SASL_PASSWORD: SECRET, KAFKA_SASL_PASSWORD_FILE: passwordFile },
      /not both/,
    );
    refused({ KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: SECRET }, /plain sends the password in clear text/);
    refused(
      { KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: SECRET },
      /KAFKA_SASL_USERNAME: is set but KAFKA_SASL_MECHANISM is not/,
      /KAFKA_SASL_PASSWORD: is set/,
    );
    refused(
      { KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD_FILE: join(dir, 'nope') },
      /KAFKA_SASL_PASSWORD_FILE: cannot read/,
    );
  });

  it('lists every problem at once', () => {
    refused(
      { KAFKA_SSL_CERT_FILE: cert, KAFKA_SASL_MECHANISM: 'scram-sha-512' },
      /KAFKA_SSL_CERT_FILE: is set/,
      /needs KAFKA_SSL_KEY_FILE/,
      /KAFKA_SASL_USERNAME: required/,
    );
  });

  it('builds mTLS options from the files: private CA, client certificate and key', () => {
    const settings = kafkaSettingsFromConfig(
      'attribution',
      load({ KAFKA_SSL: 'true', KAFKA_SSL_CA_FILE: ca, KAFKA_SSL_CERT_FILE: cert, KAFKA_SSL_KEY_FILE: key }),
    );
    assert.deepEqual(settings.ssl, {
      rejectUnauthorized: true,
      ca: ['-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n'],
      cert: '-----BEGIN CERTIFICATE-----\nCLIENT\n-----END CERTIFICATE-----\n',
      key: '-----BEGIN PRIVATE KEY-----\nKEY\n-----END PRIVATE KEY-----\n',
    });
    assert.equal(settings.sasl, undefined);
    assert.equal(kafkaSettingsFromConfig('x', load({ KAFKA_SSL: 'true' })).ssl, true, "TLS with Node's CA bundle");
    assert.equal(kafkaSettingsFromConfig('x', load({})).ssl, false);
  });

  it('reads the SCRAM password from a file (without its trailing newline) or the variable', () => {
    const fromFile = kafkaSettingsFromConfig(
      'attribution',
      load({ KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'attribution', KAFKA_SASL_PASSWORD_FILE: passwordFile }),
    );
    assert.deepEqual(fromFile.sasl, { mechanism: 'scram-sha-512', username: 'attribution', password: SECRET });
    const fromEnv = kafkaSettingsFromConfig(
      'attribution',
      load({ KAFKA_SSL: 'true', KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'attribution', KAFKA_SASL_PASSWORD: SECRET }),
    );
    assert.deepEqual(fromEnv.sasl, { mechanism: 'plain', username: 'attribution', password: SECRET });
  });
});
