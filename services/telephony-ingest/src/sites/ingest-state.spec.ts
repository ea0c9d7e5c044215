import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createEvent } from '@calltrack/contracts';
import { IngestState } from './ingest-state.js';

const site = (siteId: string, country: string) =>
  createEvent('SiteConfigured', { name: siteId, country, timeZone: 'UTC', defaultNumber: '+14155550100' }, { siteId, producer: 'test' });
const secret = (siteId: string, value: string) => createEvent('WebhookSecretSet', { secret: value }, { siteId, producer: 'test' });
const S1 = 'a'.repeat(32);
const S2 = 'b'.repeat(40);

describe('IngestState', () => {
  it('knows a site once configured, with or without a secret, in either order', () => {
    const state = new IngestState();
    assert.ok(state.apply(secret('s1', S1), 's1').applied);
    assert.equal(state.site('s1'), undefined, 'a secret alone does not make a site known');
    assert.ok(state.apply(site('s1', 'ru'), 's1').applied);
    assert.deepEqual(state.site('s1'), { country: 'RU', secret: S1 });
    assert.ok(state.apply(site('s2', 'US'), 's2').applied);
    assert.deepEqual(state.site('s2'), { country: 'US', secret: undefined });
  });

  it('keeps the latest secret and country', () => {
    const state = new IngestState();
    state.apply(site('s1', 'RU'), 's1');
    state.apply(secret('s1', S1), 's1');
    state.apply(secret('s1', S2), 's1');
    state.apply(site('s1', 'DE'), 's1');
    assert.deepEqual(state.site('s1'), { country: 'DE', secret: S2 });
  });

  it('refuses records keyed for another site and out-of-range secrets', () => {
    const state = new IngestState();
    state.apply(site('s1', 'RU'), 's1');
    const r = state.apply(secret('s1', S1), 's2');
    assert.equal(r.applied, false);
    assert.equal(state.site('s1')?.secret, undefined);
    assert.equal(state.apply(secret('s1', 'short'), 's1').applied, false);
    assert.equal(state.apply(secret('s1', 'x'.repeat(257)), 's1').applied, false);
    assert.equal(state.site('s1')?.secret, undefined);
  });
});

describe('IngestState: provider credentials', () => {
  const creds = (siteId: string, fields: { provider: string; secret?: string; apiKey?: string; publicKey?: string }) =>
    createEvent('WebhookSecretSet', { secret: '', apiKey: '', publicKey: '', ...fields }, { siteId, producer: 'test' });
  const TELNYX_KEY = Buffer.alloc(32, 7).toString('base64');

  it('keeps each provider of a site under its own key, the latest winning', () => {
    const state = new IngestState();
    state.apply(site('s1', 'RU'), 's1');
    assert.ok(state.apply(creds('s1', { provider: 'twilio', secret: 'a'.repeat(32) }), 's1:twilio').applied);
    assert.ok(state.apply(creds('s1', { provider: 'mango', apiKey: 'key-0123456789', secret: 'salt-0123456789' }), 's1:mango').applied);
    assert.ok(state.apply(creds('s1', { provider: 'twilio', secret: 'b'.repeat(32) }), 's1:twilio').applied);
    assert.deepEqual(state.providerCredentials('s1', 'twilio'), { provider: 'twilio', authToken: 'b'.repeat(32) });
    assert.deepEqual(state.providerCredentials('s1', 'mango'), { provider: 'mango', apiKey: 'key-0123456789', apiSalt: 'salt-0123456789' });
    assert.equal(state.providerCredentials('s1', 'zadarma'), undefined);
    assert.deepEqual(state.configuredProviders('s1'), ['mango', 'twilio']);
    assert.deepEqual(state.site('s1'), { country: 'RU', secret: undefined }, 'provider credentials are not the generic secret');
    assert.deepEqual(state.siteSettings('s1'), { country: 'RU', timeZone: 'UTC', defaultNumber: '+14155550100' });
  });

  it('refuses provider records under the site key, unknown providers and invalid credentials', () => {
    const state = new IngestState();
    state.apply(site('s1', 'RU'), 's1');
    assert.equal(
      state.apply(creds('s1', { provider: 'twilio', secret: 'a'.repeat(32) }), 's1').applied,
      false,
      'a provider record keyed like the generic secret',
    );
    assert.equal(state.apply(creds('s1', { provider: 'twilio', secret: 'a'.repeat(32) }), 's1:zadarma').applied, false);
    assert.equal(state.apply(creds('s1', { provider: 'skype', secret: 'a'.repeat(32) }), 's1:skype').applied, false);
    assert.equal(state.apply(creds('s1', { provider: 'telnyx', publicKey: 'not-a-key' }), 's1:telnyx').applied, false);
    assert.equal(state.apply(creds('s1', { provider: 'mango', secret: 'salt-0123456789' }), 's1:mango').applied, false, 'Mango needs its key too');
    assert.ok(state.apply(creds('s1', { provider: 'telnyx', publicKey: TELNYX_KEY }), 's1:telnyx').applied);
    assert.deepEqual(state.configuredProviders('s1'), ['telnyx']);
  });
});
