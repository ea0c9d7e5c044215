import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import { describe, it } from 'node:test';
import { telnyxPublicKey } from '../../sites/provider-credentials.js';
import { telnyxSignedPayload, verifyTelnyxSignature } from './telnyx-signature.js';

const { publicKey, privateKey } = generateKeyPairSync('ed25519');
const other = generateKeyPairSync('ed25519');
// As the Telnyx portal shows it: Base64 of the raw 32-byte key (the JWK "x" is its base64url).
const rawBase64 = (key: typeof publicKey) => Buffer.from(key.export({ format: 'jwk' }).x!, 'base64url').toString('base64');
const PUBLIC_KEY = rawBase64(publicKey);

const body = Buffer.from('{"data":{"event_type":"call.initiated","id":"0ccc7b54-4df3-4bca-a65a-3da1ecc777f0"}}');
const now = 1_760_000_000_000;
const ts = String(now / 1000);
const signWith = (key: typeof privateKey, timestamp: string, raw: Buffer) =>
  sign(null, Buffer.from(`${timestamp}|${raw.toString('utf8')}`), key).toString('base64');

const input = (over: Partial<Parameters<typeof verifyTelnyxSignature>[0]> = {}) => ({
  publicKey: telnyxPublicKey(PUBLIC_KEY)!,
  signature: signWith(privateKey, ts, body),
  timestamp: ts,
  rawBody: body,
  nowMs: now,
  toleranceSeconds: 300,
  ...over,
});

describe('Telnyx signature', () => {
  it('loads the portal form of the public key (Base64 of 32 raw bytes) and nothing else', () => {
    assert.equal(PUBLIC_KEY.length, 44);
    assert.ok(telnyxPublicKey(PUBLIC_KEY));
    assert.equal(telnyxPublicKey(Buffer.alloc(31).toString('base64')), undefined);
    assert.equal(telnyxPublicKey('not a key'), undefined);
    assert.equal(telnyxPublicKey(publicKey.export({ format: 'pem', type: 'spki' }).toString()), undefined);
  });

  it('signs "<telnyx-timestamp>|<raw body>"', () => {
    assert.equal(telnyxSignedPayload('123', Buffer.from('{}')).toString(), '123|{}');
  });

  it('accepts an Ed25519 signature of the timestamp and exact body within the window', () => {
    assert.deepEqual(verifyTelnyxSignature(input()), { ok: true, timestampSeconds: Number(ts) });
  });

  it('refuses other bytes, another timestamp or another key', () => {
    assert.deepEqual(verifyTelnyxSignature(input({ rawBody: Buffer.from(`${body.toString()} `) })), { ok: false, reason: 'signature_mismatch' });
    assert.deepEqual(verifyTelnyxSignature(input({ timestamp: String(Number(ts) + 1) })), { ok: false, reason: 'signature_mismatch' });
    assert.deepEqual(verifyTelnyxSignature(input({ signature: signWith(other.privateKey, ts, body) })), { ok: false, reason: 'signature_mismatch' });
    assert.deepEqual(verifyTelnyxSignature(input({ publicKey: telnyxPublicKey(rawBase64(other.publicKey))! })), { ok: false, reason: 'signature_mismatch' });
  });

  it('refuses a correctly signed request outside the replay window, on both sides', () => {
    const old = String(Number(ts) - 301);
    assert.deepEqual(verifyTelnyxSignature(input({ timestamp: old, signature: signWith(privateKey, old, body) })), { ok: false, reason: 'stale_timestamp' });
    const future = String(Number(ts) + 301);
    assert.deepEqual(verifyTelnyxSignature(input({ timestamp: future, signature: signWith(privateKey, future, body) })), {
      ok: false,
      reason: 'stale_timestamp',
    });
    const edge = String(Number(ts) - 300);
    assert.equal(verifyTelnyxSignature(input({ timestamp: edge, signature: signWith(privateKey, edge, body) })).ok, true);
    const forgedOld = String(Number(ts) - 10_000);
    assert.deepEqual(
      verifyTelnyxSignature(input({ timestamp: forgedOld })),
      { ok: false, reason: 'signature_mismatch' },
      'the signature is checked before the window',
    );
  });

  it('tells missing headers from malformed ones', () => {
    assert.deepEqual(verifyTelnyxSignature(input({ signature: undefined })), { ok: false, reason: 'missing_signature' });
    assert.deepEqual(verifyTelnyxSignature(input({ timestamp: '' })), { ok: false, reason: 'missing_signature' });
    for (const signature of ['abc', Buffer.alloc(63).toString('base64'), 'not*base64', ['a', 'b']]) {
      assert.deepEqual(verifyTelnyxSignature(input({ signature })), { ok: false, reason: 'malformed_signature' }, String(signature));
    }
    for (const timestamp of ['soon', '2025-01-01T00:00:00Z', '-1'])
      assert.deepEqual(verifyTelnyxSignature(input({ timestamp })), { ok: false, reason: 'malformed_signature' }, timestamp);
  });
});
