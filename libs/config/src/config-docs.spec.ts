import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { adminTokenVariable, booleanVariable, commonVariables, portVariable } from './common-variables.js';
import { documentConfig, loadConfig, variable } from './load-config.js';

// documentConfig drives docs/configuration.md (scripts/gen-config-docs.mjs): these are the
// facts each table row is made of.
describe('documentConfig', () => {
  const schema = z.object({
    PORT: portVariable(8082),
    ADMIN_TOKEN: adminTokenVariable(),
    PREFIX: variable(z.string().default(''), { description: 'Empty by default.' }),
    TLS: variable(booleanVariable.default(false), { description: 'A boolean whose default is transformed.' }),
    DESTINATION: variable(z.url().optional(), { description: 'Optional, no default.' }),
    DELAYS_MS: variable(
      z
        .string()
        .transform((v) => v.split(',').map(Number))
        .optional(),
      { description: 'Optional with a transform.' },
    ),
  });
  const docs = new Map(documentConfig(schema).map((v) => [v.name, v]));

  it('lists every variable in schema order', () => {
    assert.deepEqual([...docs.keys()], ['PORT', 'ADMIN_TOKEN', 'PREFIX', 'TLS', 'DESTINATION', 'DELAYS_MS']);
  });

  it('marks a variable without default that must be set as required, and sensitive ones as such', () => {
    assert.deepEqual(docs.get('ADMIN_TOKEN'), {
      name: 'ADMIN_TOKEN',
      description: 'Bearer token required by the admin endpoints: at least 24 characters, not a placeholder.',
      sensitive: true,
      defaultValue: undefined,
      required: true,
    });
  });

  it('renders defaults as the strings an operator would set', () => {
    assert.equal(docs.get('PORT')?.defaultValue, '8082');
    assert.equal(docs.get('PORT')?.required, false);
    assert.equal(docs.get('PORT')?.sensitive, false);
    assert.equal(docs.get('PREFIX')?.defaultValue, '', 'an empty default is a default, not "unset"');
    assert.equal(docs.get('TLS')?.defaultValue, 'false');
  });

  it('shows optional variables as neither required nor defaulted', () => {
    for (const name of ['DESTINATION', 'DELAYS_MS']) {
      assert.equal(docs.get(name)?.required, false, name);
      assert.equal(docs.get(name)?.defaultValue, undefined, name);
    }
  });

  it('refuses a variable without a description, naming it', () => {
    const undocumented = z.object({ PORT: portVariable(1), SECRET: z.string() });
    assert.throws(() => documentConfig(undocumented), /configuration variable SECRET has no description/);
  });

  it('documents every common variable, with the Kafka SASL password sensitive', () => {
    const common = documentConfig(z.object(commonVariables));
    assert.equal(common.length, Object.keys(commonVariables).length);
    assert.ok(
      common.every((v) => v.description.length > 0 && !v.required),
      'every common variable has a description and is optional',
    );
    assert.deepEqual(
      common.filter((v) => v.sensitive).map((v) => v.name),
      ['KAFKA_SASL_PASSWORD'],
    );
  });
});

describe('adminTokenVariable', () => {
  const schema = z.object({ ADMIN_TOKEN: adminTokenVariable() });
  const refused = (token: string, why: RegExp) =>
    assert.throws(
      () => loadConfig('test', schema, { ADMIN_TOKEN: token }),
      (err: Error) => {
        assert.match(err.message, /ADMIN_TOKEN/);
        assert.match(err.message, why);
        assert.ok(!err.message.includes(token), 'the refused token is not echoed');
        return true;
      },
    );

  it("refuses .env.example's placeholder and other placeholders, with a clear message", () => {
    refused('replace-with-a-long-random-admin-token', /placeholder/);
    refused('please-change-me-0123456789abcdef', /placeholder/);
  });

  it('refuses short and repetitive tokens', () => {
    refused('0123456789abcdef01234', /at least 24 characters/);
    refused('a'.repeat(40), /repetitive/);
    refused('abababababababababababababab', /repetitive/);
  });

  it("accepts random tokens and the tests' and demo's tokens", () => {
    for (const token of [
      'f3b1e2d4c5a6978812345678abcdef01',
      'e2e-admin-token-0123456789',
      'demo-admin-token-0123456789abcdef',
      'test-admin-token-0123456789',
    ]) {
      assert.equal(loadConfig('test', schema, { ADMIN_TOKEN: token }).ADMIN_TOKEN, token);
    }
  });
});

// The generated document states "Empty values count as unset": the default applies and an
// optional variable stays undefined, so compose's `VAR: ${VAR:-}` is safe.
describe('loadConfig with empty values', () => {
  const schema = z.object({
    PORT: portVariable(8085),
    DESTINATION: variable(z.url().optional(), { description: 'Optional URL.' }),
    SECRET: variable(z.string().min(16).optional(), { description: 'Optional secret.', sensitive: true }),
  });

  it('treats empty strings as unset', () => {
    assert.deepEqual(loadConfig('test', schema, { PORT: '', DESTINATION: '', SECRET: '' }), {
      PORT: 8085,
      DESTINATION: undefined,
      SECRET: undefined,
    });
  });

  it('still validates values that are set', () => {
    assert.throws(
      () => loadConfig('test', schema, { DESTINATION: 'not a url', SECRET: 'short' }),
      (err: Error) => {
        assert.match(err.message, /DESTINATION: .*\(Optional URL\.\)/);
        assert.match(err.message, /SECRET: /);
        return true;
      },
    );
  });
});
