import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { verifyZadarmaSignature, zadarmaSignature, zadarmaSignedString } from './zadarma-signature.js';

const SECRET = 'zd_secret_0123456789';
const start = {
  event: 'NOTIFY_START',
  call_start: '2025-03-01 13:00:00',
  pbx_call_id: 'in_1740823200.12345',
  caller_id: '+79161234567',
  called_did: '+74951234567',
};

describe('Zadarma signature', () => {
  it('is Base64 of the lowercase hex HMAC-SHA1, as PHP base64_encode(hash_hmac(...)) gives', () => {
    // printf '%s' "$S" | openssl dgst -sha1 -hmac "$SECRET" -hex | sed 's/^.*= //' | tr -d '\n' | base64
    assert.equal(zadarmaSignature(SECRET, '+79161234567+749512345672025-03-01 13:00:00'), 'YmE3MWY5ZjI5OTkwOWIwYmY3YTBjMDI5MDU3OTI3OGZhZTQ1OGMxMw==');
    const rawBytes = createHmac('sha1', SECRET).update('x').digest('base64');
    assert.notEqual(zadarmaSignature(SECRET, 'x'), rawBytes, 'not the Base64 of the raw digest');
  });

  it('signs the fields the docs list for each event', () => {
    assert.equal(zadarmaSignedString(start), '+79161234567+749512345672025-03-01 13:00:00');
    assert.equal(zadarmaSignedString({ ...start, event: 'NOTIFY_INTERNAL', internal: '101' }), '+79161234567+749512345672025-03-01 13:00:00');
    assert.equal(zadarmaSignedString({ ...start, event: 'NOTIFY_END', duration: '42' }), '+79161234567+749512345672025-03-01 13:00:00');
    assert.equal(
      zadarmaSignedString({ event: 'NOTIFY_ANSWER', caller_id: '+79161234567', destination: '101', call_start: '2025-03-01 13:00:00' }),
      '+791612345671012025-03-01 13:00:00',
    );
    assert.equal(
      zadarmaSignedString({ event: 'NOTIFY_OUT_START', internal: '101', destination: '+79165550000', call_start: '2025-03-01 14:00:00' }),
      '101+791655500002025-03-01 14:00:00',
    );
    assert.equal(
      zadarmaSignedString({
        event: 'NOTIFY_OUT_END',
        internal: '101',
        destination: '+79165550000',
        call_start: '2025-03-01 14:00:00',
        caller_id: '+74951234567',
      }),
      '101+791655500002025-03-01 14:00:00',
    );
    assert.equal(zadarmaSignedString({ event: 'NOTIFY_RECORD', pbx_call_id: 'p1', call_id_with_rec: 'r1' }), 'p1r1');
    assert.equal(zadarmaSignedString({ event: 'SMS' }), undefined);
  });

  const verify = (over: Partial<Parameters<typeof verifyZadarmaSignature>[0]>) =>
    verifyZadarmaSignature({ secret: SECRET, form: start, signature: zadarmaSignature(SECRET, zadarmaSignedString(start)!), ...over });

  it('accepts a signed notification and refuses a changed signed field or another secret', () => {
    assert.deepEqual(verify({}), { ok: true });
    assert.deepEqual(verify({ form: { ...start, called_did: '+74951234568' } }), { ok: false, reason: 'signature_mismatch' });
    assert.deepEqual(verify({ form: { ...start, event: 'NOTIFY_ANSWER' } }), { ok: false, reason: 'signature_mismatch' }, 'another event signs other fields');
    assert.deepEqual(verify({ secret: 'zd_secret_0123456788' }), { ok: false, reason: 'signature_mismatch' });
  });

  it('tells a missing Signature from a malformed one', () => {
    assert.deepEqual(verify({ signature: undefined }), { ok: false, reason: 'missing_signature' });
    assert.deepEqual(verify({ signature: '' }), { ok: false, reason: 'missing_signature' });
    const rawDigest = createHmac('sha1', SECRET).update(zadarmaSignedString(start)!).digest('base64');
    for (const signature of ['abc', rawDigest, ['a', 'b']])
      assert.deepEqual(verify({ signature }), { ok: false, reason: 'malformed_signature' }, String(signature));
  });
});
