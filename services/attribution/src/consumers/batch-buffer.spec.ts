import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BatchBuffer } from './batch-buffer.js';

const at = (offset: number, partition = 0, topicName = 't') => ({ topicName, partition, offset: String(offset) });

describe('BatchBuffer', () => {
  it('derives the token from the batch offsets and the rows', () => {
    const b = new BatchBuffer<string>();
    b.track(at(10));
    b.push('a');
    b.track(at(11));
    b.track(at(14));
    b.push('b');
    assert.deepEqual(b.items, ['a', 'b']);
    const token = b.token('calls', [{ id: 1 }]);
    assert.match(token, /^t:0:10-14:calls:[0-9a-f]{16}$/);
    assert.equal(b.token('calls', [{ id: 1 }]), token, 'same rows, same token: a retried insert is dropped');
    assert.notEqual(b.token('calls', [{ id: 2 }]), token, 'other rows under the same offsets are a new insert');
    assert.notEqual(b.token('visits', [{ id: 1 }]), token);
  });

  it('drops the items of an abandoned batch when a new batch begins', () => {
    const b = new BatchBuffer<string>();
    b.track(at(5));
    b.push('stale');
    b.track(at(6));
    // Redelivered from the start of the batch after a rebalance.
    assert.equal(b.track(at(5)), true);
    assert.deepEqual(b.items, []);
    b.push('fresh');
    // Another partition.
    assert.equal(b.track(at(6, 1)), true);
    assert.deepEqual(b.items, []);
    assert.equal(b.track(at(7, 1)), false);
  });

  it('replaces what a record pushed when the same record is handled again', () => {
    const b = new BatchBuffer<string>();
    b.track(at(3));
    b.push('kept');
    b.track(at(4));
    b.push('first try');
    assert.equal(b.track(at(4)), false);
    b.push('second try');
    assert.deepEqual(b.items, ['kept', 'second try']);
  });

  it('starts afresh after clear()', () => {
    const b = new BatchBuffer<string>();
    b.track(at(1));
    b.push('x');
    b.clear();
    assert.equal(b.isEmpty, true);
    assert.equal(b.track(at(2)), false);
    assert.match(b.token('t', []), /^t:0:2-2:/);
  });
});
