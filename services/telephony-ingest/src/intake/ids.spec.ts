import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { idProblem, MAX_ID_LENGTH, platformId } from './ids.js';

describe('ids at the edge', () => {
  it('accepts 1-128 characters of any script, emoji included', () => {
    for (const id of ['CA5d8f1c0e2b3a4f69788a9b0c1d2e3f40', 'in_1740823200.555', '😀', 'звонок-1', 'x'.repeat(MAX_ID_LENGTH), '😀'.repeat(MAX_ID_LENGTH)])
      assert.equal(idProblem(id), undefined, id);
  });

  it('refuses empty, too long, control characters, white space and lone surrogates', () => {
    assert.match(idProblem('')!, /empty/);
    assert.match(idProblem('x'.repeat(MAX_ID_LENGTH + 1))!, /at most 128/);
    for (const id of ['a\u0000b', 'a\nb', 'a\u007fb', 'a\u0085b', 'a b', 'a\u00a0b', 'a\u2028b'])
      assert.match(idProblem(id)!, /control or white-space/, JSON.stringify(id));
    assert.match(idProblem('a\ud83d')!, /well-formed/);
    assert.equal(platformId().safeParse('a\tb').success, false);
  });
});
