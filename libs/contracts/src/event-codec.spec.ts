import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createEvent, decodeEvent, encodeEvent, EventDecodeError, EVENT_TYPES, SCHEMA_VERSIONS } from './event-codec.js';
import { calltrack } from '@calltrack/proto';
import { provisionedTopics, TOPICS, topicName } from './topic-registry.js';

describe('event codec', () => {
  it('round-trips an event with its envelope', () => {
    const e = createEvent(
      'LeaseGranted',
      {
        requestId: 'r1',
        leaseId: 'l1',
        sessionId: 's1',
        visitorId: 'v1',
        trackingNumber: '+74951000001',
        grantedAtMs: 1_700_000_000_123,
        expiresAtMs: 1_700_000_900_123,
      },
      { siteId: 'site-a', producer: 'test' },
    );
    const back = decodeEvent(encodeEvent(e));
    assert.equal(back.type, 'LeaseGranted');
    assert.equal(back.eventId, e.eventId);
    assert.equal(back.siteId, 'site-a');
    assert.equal(back.schemaVersion, 1);
    assert.equal(back.producer, 'test');
    assert.equal(back.payload.trackingNumber, '+74951000001');
    assert.equal(back.payload.grantedAtMs, 1_700_000_000_123);
  });

  it('gives every event a distinct time-ordered id unless one is given', () => {
    const a = createEvent('CallerUnblocked', { phone: '+1' }, { siteId: 's', producer: 't' });
    const b = createEvent('CallerUnblocked', { phone: '+1' }, { siteId: 's', producer: 't' });
    assert.notEqual(a.eventId, b.eventId);
    assert.ok(a.eventId < b.eventId, 'UUIDv7 ids sort by creation time');
    assert.equal(createEvent('CallerUnblocked', { phone: '+1' }, { siteId: 's', producer: 't', eventId: 'fixed' }).eventId, 'fixed');
  });

  it('refuses an event without a tenant or with a wrongly typed payload', () => {
    assert.throws(() => createEvent('CallerBlocked', { phone: '+1', reason: 'x' }, { siteId: '', producer: 't' }), /site id/);
    assert.throws(() => createEvent('CallerBlocked', { phone: 42 as unknown as string }, { siteId: 's', producer: 't' }), /invalid CallerBlocked payload/);
  });

  it('rejects bytes that are not an envelope, unknown types and future schema versions', () => {
    assert.throws(() => decodeEvent(Buffer.from('not protobuf at all {json}')), EventDecodeError);
    assert.throws(() => decodeEvent(Buffer.alloc(0)), /empty/);
    assert.throws(() => decodeEvent(null), /empty/);
    const unknownType = calltrack.events.v1.EventEnvelope.encode({
      eventId: 'e',
      eventType: 'calltrack.events.v1.Nope',
      schemaVersion: 1,
      siteId: 's',
    }).finish();
    assert.throws(() => decodeEvent(unknownType), /unknown event type/);
    const future = calltrack.events.v1.EventEnvelope.encode({
      eventId: 'e',
      eventType: 'calltrack.events.v1.CallerUnblocked',
      schemaVersion: 99,
      siteId: 's',
    }).finish();
    assert.throws(() => decodeEvent(future), /unsupported schema version 99/);
    const noTenant = calltrack.events.v1.EventEnvelope.encode({ eventId: 'e', eventType: 'calltrack.events.v1.CallerUnblocked', schemaVersion: 1 }).finish();
    assert.throws(() => decodeEvent(noTenant), /without site_id/);
  });

  it('has a schema version for every payload type', () => {
    assert.deepEqual(Object.keys(SCHEMA_VERSIONS).sort(), Object.keys(EVENT_TYPES).sort());
  });
});

describe('topic registry', () => {
  it('names only payload types that exist, and each type lives on one topic', () => {
    const seen = new Map<string, string>();
    for (const [key, spec] of Object.entries(TOPICS)) {
      for (const e of spec.events) {
        assert.ok(e in EVENT_TYPES, `${key} lists unknown event ${e}`);
        assert.ok(!seen.has(e), `${e} is on both ${seen.get(e)} and ${key}`);
        seen.set(e, key);
      }
    }
  });

  it('provisions every topic with a dead-letter twin under the prefix', () => {
    const topics = provisionedTopics('p.');
    const retryTiers = Object.values(TOPICS).filter((t) => t.retryDelaysMs).length;
    assert.equal(topics.length, Object.keys(TOPICS).length * 2 + retryTiers);
    assert.ok(topics.some((t) => t.name === `${topicName('attributedCalls', 'p.')}.retry`));
    assert.ok(topics.every((t) => t.name.startsWith('p.calltrack.')));
    assert.ok(topics.some((t) => t.name === `${topicName('calls', 'p.')}.dlq`));
    assert.equal(topics.find((t) => t.name === topicName('sites', 'p.'))?.config['cleanup.policy'], 'compact');
  });
});
