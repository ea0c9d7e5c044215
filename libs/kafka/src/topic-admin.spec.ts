import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isUnlistedTopicAnswer } from './topic-admin.js';

describe('isUnlistedTopicAnswer', () => {
  it("recognises kafkajs's TypeError for a topic the broker does not list yet, and nothing else", () => {
    // The message kafkajs 2.x throws from admin.fetchTopicOffsets (seen in a CI run under load).
    assert.equal(isUnlistedTopicAnswer(new TypeError("Cannot destructure property 'partitions' of 'high.pop(...)' as it is undefined.")), true);
    assert.equal(isUnlistedTopicAnswer(new TypeError("Cannot destructure property 'partitions' of 'low.pop(...)' as it is undefined.")), true);
    assert.equal(isUnlistedTopicAnswer(new TypeError("Cannot read properties of undefined (reading 'partitions')")), false);
    assert.equal(isUnlistedTopicAnswer(new Error("Cannot destructure property 'partitions' of 'high.pop(...)' as it is undefined.")), false);
  });
});
