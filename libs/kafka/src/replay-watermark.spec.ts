import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ReplayWatermark } from './replay-watermark.js';

describe('ReplayWatermark', () => {
  it('covers offsets up to the last replayed one, per topic partition', () => {
    const w = new ReplayWatermark();
    w.mark('telephonySecrets', 0, '0');
    w.mark('telephonySecrets', 0, '4');
    w.mark('telephonySecrets', 0, '2'); // a repeated replay never lowers the mark
    assert.equal(w.covers('telephonySecrets', 0, '0'), true);
    assert.equal(w.covers('telephonySecrets', 0, '4'), true);
    assert.equal(w.covers('telephonySecrets', 0, '5'), false, 'published after the replay: applied live');
    assert.equal(w.covers('telephonySecrets', 1, '0'), false, 'another partition');
    assert.equal(w.covers('sites', 0, '0'), false, 'another topic');
  });

  it('compares offsets as integers beyond 2^53', () => {
    const w = new ReplayWatermark();
    w.mark('sites', 2, '9007199254740993');
    assert.equal(w.covers('sites', 2, '9007199254740993'), true);
    assert.equal(w.covers('sites', 2, '9007199254740994'), false);
  });
});
