import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { twilioSignature, verifyTwilioSignature, type FormParams } from './twilio-signature.js';

// The example of Twilio's webhook-security docs and api-snippets (signature_validation.3.x.js).
const DOC_TOKEN = '12345';
const DOC_URL = 'https://mycompany.com/myapp.php?foo=1&bar=2';
const DOC_PARAMS: FormParams = [
  ['CallSid', 'CA1234567890ABCDE'],
  ['Caller', '+14158675310'],
  ['Digits', '1234'],
  ['From', '+14158675310'],
  ['To', '+18005551212'],
];
const DOC_SIGNATURE = 'GvWf1cFY/Q7PnoempGyD5oXAezc=';

describe('Twilio signature', () => {
  it('matches the documented example (HMAC-SHA1 of URL + sorted name/value pairs, Base64)', () => {
    assert.equal(twilioSignature(DOC_TOKEN, DOC_URL, DOC_PARAMS), DOC_SIGNATURE);
    // The older example with another caller, from the same snippets repository.
    const older: FormParams = DOC_PARAMS.map(([k, v]) => [k, v === '+14158675310' ? '+14158675309' : v]);
    assert.equal(twilioSignature(DOC_TOKEN, DOC_URL, older), 'RSOYDt4T1cUTdK1PDd93/VVr8B8=');
  });

  it('sorts parameters by name whatever order they were posted in', () => {
    const shuffled = [...DOC_PARAMS].reverse();
    assert.equal(twilioSignature(DOC_TOKEN, DOC_URL, shuffled), DOC_SIGNATURE);
    const manual = createHmac('sha1', DOC_TOKEN)
      .update(`${DOC_URL}CallSidCA1234567890ABCDECaller+14158675310Digits1234From+14158675310To+18005551212`)
      .digest('base64');
    assert.equal(manual, DOC_SIGNATURE);
  });

  it('signs each distinct value of a repeated name, values sorted', () => {
    const params: FormParams = [
      ['To', 'b'],
      ['To', 'a'],
      ['To', 'b'],
    ];
    const expected = createHmac('sha1', 'tok').update('https://x.example/hookToaTob').digest('base64');
    assert.equal(twilioSignature('tok', 'https://x.example/hook', params), expected);
  });

  const check = (over: Partial<Parameters<typeof verifyTwilioSignature>[0]>) =>
    verifyTwilioSignature({ authToken: DOC_TOKEN, url: DOC_URL, params: DOC_PARAMS, signature: DOC_SIGNATURE, ...over });

  it('accepts the documented request', () => {
    assert.deepEqual(check({}), { ok: true });
  });

  it('accepts a URL signed with or without the default port', () => {
    const withPort = 'https://mycompany.com:443/myapp.php?foo=1&bar=2';
    assert.deepEqual(check({ url: withPort }), { ok: true }, 'Twilio signed without the port, we see it with');
    const signedWithPort = twilioSignature(DOC_TOKEN, withPort, DOC_PARAMS);
    assert.deepEqual(check({ signature: signedWithPort }), { ok: true }, 'Twilio signed with the port, we see it without');
    assert.equal(check({ url: 'https://mycompany.com:8443/myapp.php?foo=1&bar=2' }).ok, false, 'another port is another URL');
  });

  it('refuses another URL, scheme, query, parameter or token', () => {
    assert.deepEqual(check({ url: 'http://mycompany.com/myapp.php?foo=1&bar=2' }), { ok: false, reason: 'signature_mismatch' });
    assert.deepEqual(check({ url: 'https://mycompany.com/myapp.php?foo=1&bar=3' }), { ok: false, reason: 'signature_mismatch' });
    assert.deepEqual(check({ params: [...DOC_PARAMS, ['CallStatus', 'completed']] }), { ok: false, reason: 'signature_mismatch' });
    assert.deepEqual(check({ params: DOC_PARAMS.map(([k, v]) => [k, k === 'To' ? '+18005551213' : v]) }), { ok: false, reason: 'signature_mismatch' });
    assert.deepEqual(check({ authToken: '12346' }), { ok: false, reason: 'signature_mismatch' });
  });

  it('tells a missing header from a malformed one', () => {
    assert.deepEqual(check({ signature: undefined }), { ok: false, reason: 'missing_signature' });
    assert.deepEqual(check({ signature: '' }), { ok: false, reason: 'missing_signature' });
    for (const signature of ['not base64!', 'GvWf1cFY/Q7PnoempGyD5oXAezc', 'R3ZXZjFjRlkvUTdQbm9lbXBHeUQ1b1hBZXpjPQ==', [DOC_SIGNATURE, DOC_SIGNATURE]]) {
      assert.deepEqual(check({ signature }), { ok: false, reason: 'malformed_signature' }, String(signature));
    }
  });
});
