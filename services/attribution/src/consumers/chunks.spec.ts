import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chunksOf } from './chunks.js';

describe('chunks of a batch', () => {
  it('splits a batch into consecutive chunks', () => {
    assert.deepEqual(chunksOf([1, 2, 3, 4, 5], 2), [[1, 2], [3, 4], [5]]);
    assert.deepEqual(chunksOf([], 3), []);
  });
});
