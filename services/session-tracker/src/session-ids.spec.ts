import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SESSION_END_WINDOW_MS, SessionIdSigner, sessionStartOf } from './session-ids.js';

const signer = new SessionIdSigner(Buffer.from('session-id-key-for-tests-0123456789'));

describe('session ids', () => {
  it('mints UUIDv7 ids that carry their start time and are recognised', () => {
    const now = Date.now();
    const id = signer.mint(now);
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(sessionStartOf(id), now);
    assert.equal(signer.issued(id, now), true);
  });

  it('mints different ids within one millisecond', () => {
    const now = Date.now();
    const ids = new Set(Array.from({ length: 10_000 }, () => signer.mint(now)));
    assert.equal(ids.size, 10_000);
  });

  it('refuses ids it never minted: not a UUIDv7, another key, a changed digit, from the future, or older than a visit can be', () => {
    const now = Date.now();
    assert.equal(signer.issued('session-0001', now), false);
    assert.equal(signer.issued('6f9619ff-8b86-4d11-b42d-00c04fc964ff', now), false, 'a UUIDv4');
    const id = signer.mint(now);
    assert.equal(new SessionIdSigner(Buffer.from('another-key-0123456789abcdef')).issued(id, now), false, 'minted under another key');
    const last = id.at(-1)!;
    assert.equal(signer.issued(id.slice(0, -1) + (last === '0' ? '1' : '0'), now), false, 'MAC changed');
    const random = id[15]!;
    assert.equal(signer.issued(id.slice(0, 15) + (random === '0' ? '1' : '0') + id.slice(16), now), false, 'random part changed');
    assert.equal(signer.issued(id.toUpperCase(), now), false, 'not the form minted');
    assert.equal(signer.issued(id, now + SESSION_END_WINDOW_MS), true);
    assert.equal(signer.issued(id, now + SESSION_END_WINDOW_MS + 1), false, 'too old');
    assert.equal(signer.issued(id, now - 120_000), false, 'from the future');
  });
});
