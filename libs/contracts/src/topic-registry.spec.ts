import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { provisionedTopics, TOPICS } from './topic-registry.js';

describe('topic registry', () => {
  it("keeps a site's pool commands and pool events on the same partition number (one writer per site)", () => {
    assert.equal(TOPICS.poolCommands.partitions, TOPICS.poolEvents.partitions);
    assert.equal(TOPICS.poolCommands.key, TOPICS.poolEvents.key);
  });

  it('provisions a dead-letter twin for every topic and a retry tier where one is declared', () => {
    const names = provisionedTopics('p.').map((t) => t.name);
    for (const spec of Object.values(TOPICS)) {
      assert.ok(names.includes(`p.${spec.name}`));
      assert.ok(names.includes(`p.${spec.name}.dlq`));
      assert.equal(names.includes(`p.${spec.name}.retry`), spec.retryDelaysMs !== undefined);
    }
  });
});
