import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { signWebhook, verifyWebhookSignature, type SignatureInput } from './webhook-signature.js';

const secret = 'whsec_0123456789abcdef0123456789abcdef';
const body = Buffer.from('{"callId":"c-1","status":"ringing"}');
const now = 1_760_000_000_000;
const ts = String(now / 1000);

const input = (over: Partial<SignatureInput> = {}): SignatureInput => ({
  secret,
  timestamp: ts,
  signature: signWebhook(secret, ts, body),
  rawBody: body,
  nowMs: now,
  toleranceSeconds: 300,
  ...over,
});

describe('webhook signature', () => {
  it('is v1= and the hex HMAC-SHA256 of "<timestamp>.<raw body>"', () => {
    const expected = createHmac('sha256', secret)
      .update(`${ts}.${body.toString('utf8')}`)
      .digest('hex');
    assert.equal(signWebhook(secret, ts, body), `v1=${expected}`);
  });

  it('matches the test vector of docs/webhooks-generic.md (shell/openssl example)', () => {
    const docBody = '{"callId":"c-1","trackingNumber":"+74951234567","status":"ringing","startedAt":"2025-03-01T10:00:00Z"}';
    assert.equal(
      signWebhook('whsec_example_0123456789abcdefghijklmn', 1740823380, docBody),
      'v1=eba7f4b790ed0079d349c8bc9e1822a56ee7cb499ee480d8c4f56f9ac4d4ab3b',
    );
  });

  it('accepts a correct signature within the window, uppercase hex too', () => {
    assert.deepEqual(verifyWebhookSignature(input()), { ok: true, timestampSeconds: Number(ts) });
    const upper = `v1=${signWebhook(secret, ts, body).slice(3).toUpperCase()}`;
    assert.equal(verifyWebhookSignature(input({ signature: upper })).ok, true);
  });

  it('refuses missing headers', () => {
    assert.deepEqual(verifyWebhookSignature(input({ signature: undefined })), { ok: false, reason: 'missing_signature' });
    assert.deepEqual(verifyWebhookSignature(input({ timestamp: undefined })), { ok: false, reason: 'missing_signature' });
    assert.deepEqual(verifyWebhookSignature(input({ signature: '' })), { ok: false, reason: 'missing_signature' });
  });

  it('refuses malformed headers', () => {
    for (const signature of ['abc', 'v2=' + 'a'.repeat(64), 'v1=' + 'a'.repeat(63), 'v1=' + 'g'.repeat(64), ['v1=' + 'a'.repeat(64), 'v1=' + 'b'.repeat(64)]]) {
      assert.deepEqual(verifyWebhookSignature(input({ signature })), { ok: false, reason: 'malformed_signature' }, String(signature));
    }
    for (const timestamp of ['soon', '-1', '1.5', '2025-01-01T00:00:00Z']) {
      assert.deepEqual(verifyWebhookSignature(input({ timestamp })), { ok: false, reason: 'malformed_signature' }, timestamp);
    }
  });

  it('refuses a signature over other bytes, another timestamp or another secret', () => {
    assert.deepEqual(verifyWebhookSignature(input({ rawBody: Buffer.from(body.toString() + ' ') })), { ok: false, reason: 'signature_mismatch' });
    assert.deepEqual(verifyWebhookSignature(input({ timestamp: String(Number(ts) + 1) })), { ok: false, reason: 'signature_mismatch' });
    assert.deepEqual(verifyWebhookSignature(input({ secret: secret.replace('0', '1') })), { ok: false, reason: 'signature_mismatch' });
  });

  it('refuses a correctly signed but stale or future timestamp', () => {
    const old = String(Number(ts) - 301);
    assert.deepEqual(verifyWebhookSignature(input({ timestamp: old, signature: signWebhook(secret, old, body) })), { ok: false, reason: 'stale_timestamp' });
    const future = String(Number(ts) + 301);
    assert.deepEqual(verifyWebhookSignature(input({ timestamp: future, signature: signWebhook(secret, future, body) })), {
      ok: false,
      reason: 'stale_timestamp',
    });
    const edge = String(Number(ts) - 300);
    assert.equal(verifyWebhookSignature(input({ timestamp: edge, signature: signWebhook(secret, edge, body) })).ok, true);
  });

  it('checks the signature before the window: a forged stale request is a signature failure', () => {
    const old = String(Number(ts) - 10_000);
    assert.deepEqual(verifyWebhookSignature(input({ timestamp: old, signature: 'v1=' + '0'.repeat(64) })), { ok: false, reason: 'signature_mismatch' });
  });
});
