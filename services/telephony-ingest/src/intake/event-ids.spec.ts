import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { enquiryEventId } from '../enquiries/enquiry-mapping.js';
import { webhookEventId } from '../webhooks/generic/generic-mapping.js';
import { eventIdOf } from '@calltrack/contracts';

describe('event ids of what adapters receive (one derivation for providers, the generic webhook and enquiries)', () => {
  it('gives the ids earlier releases gave (consumers dedupe retries across an upgrade on them)', () => {
    // Values of the per-adapter functions before they became eventIdOf.
    assert.equal(webhookEventId('site-a', Buffer.from('{"callId":"c-1"}')), 'fe6f16e4-414f-84aa-ae5e-ade6eb0b792a');
    assert.equal(enquiryEventId('shop', 'form-1'), '0bdab4d9-9c04-8489-9c6f-dc1e5533fed9');
    assert.equal(eventIdOf('twilio', 'acme', 'CA0123\ncompleted\n3\n'), '3bf3041c-94ad-8b10-8208-5349d487c104');
  });

  it('is a version 8 UUID that depends on the source, the site and the identity', () => {
    const id = eventIdOf('zadarma', 'acme', Buffer.from('body'));
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(eventIdOf('zadarma', 'acme', 'body'), id, 'a string and its UTF-8 bytes are the same identity');
    assert.notEqual(eventIdOf('mango', 'acme', 'body'), id);
    assert.notEqual(eventIdOf('zadarma', 'other', 'body'), id);
    assert.notEqual(eventIdOf('zadarma', 'acme', 'body2'), id);
  });
});
