import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mangoSign, verifyMangoSignature } from './mango-signature.js';

const KEY = 'mango_key_0123456789abcdef';
const SALT = 'mango_salt_0123456789abcdef';
const JSON_TEXT = '{"entry_id":"MjA2NDQ2NzE1Njo0MDE=","call_direction":1}';

describe('Mango Office signature', () => {
  it('is the hex SHA-256 of vpbx_api_key + json + vpbx_api_salt', () => {
    // printf '%s' "$KEY$JSON$SALT" | sha256sum
    assert.equal(mangoSign(KEY, JSON_TEXT, SALT), '63af2236cc53e7ae9118fc96ec667a2c32d7f82c4d20a2e0588a7e19a529ad94');
  });

  const form = (over: Record<string, string> = {}) => ({ vpbx_api_key: KEY, sign: mangoSign(KEY, JSON_TEXT, SALT), json: JSON_TEXT, ...over });
  const verify = (f: Record<string, string>, apiKey = KEY, apiSalt = SALT) => verifyMangoSignature({ apiKey, apiSalt, form: f });

  it('accepts a signed event and hands back the json it covers', () => {
    assert.deepEqual(verify(form()), { ok: true, json: JSON_TEXT });
    assert.deepEqual(verify(form({ sign: mangoSign(KEY, JSON_TEXT, SALT).toUpperCase() })), { ok: true, json: JSON_TEXT });
  });

  it('refuses another key, salt or json', () => {
    assert.deepEqual(verify(form({ vpbx_api_key: 'another_key_0123456789' })), { ok: false, reason: 'signature_mismatch' });
    assert.deepEqual(verify(form(), KEY, 'another_salt_0123456789'), { ok: false, reason: 'signature_mismatch' });
    assert.deepEqual(verify(form({ json: JSON_TEXT.replace('1}', '2}') })), { ok: false, reason: 'signature_mismatch' });
    // Signed with the right salt but for another account's key.
    const other = 'other_key_0123456789abcdef';
    assert.deepEqual(verify(form({ vpbx_api_key: other, sign: mangoSign(other, JSON_TEXT, SALT) })), { ok: false, reason: 'signature_mismatch' });
  });

  it('tells missing fields from a malformed sign', () => {
    const { sign: _s, ...noSign } = form();
    assert.deepEqual(verify(noSign), { ok: false, reason: 'missing_signature' });
    const { vpbx_api_key: _k, ...noKey } = form();
    assert.deepEqual(verify(noKey), { ok: false, reason: 'missing_signature' });
    assert.deepEqual(verify(form({ sign: 'abc' })), { ok: false, reason: 'malformed_signature' });
  });
});
