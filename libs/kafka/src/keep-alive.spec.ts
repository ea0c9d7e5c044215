import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { withKeepAlive } from './keep-alive.js';

describe('keep-alive of a long flush', () => {
  it('heartbeats while the work waits, and returns what the work returns', async () => {
    let beats = 0;
    let reached: () => void = () => undefined;
    const twoBeats = new Promise<void>((r) => (reached = r));
    const result = await withKeepAlive(
      async () => {
        beats += 1;
        if (beats === 2) reached();
      },
      async () => {
        // A wait longer than one keep-alive period (the evaluation lock, a slow query).
        await twoBeats;
        return 'done';
      },
    );
    assert.equal(result, 'done');
    assert.ok(beats >= 2);
  });

  it("a failed background beat (a rebalance began) does not break the work; the work's error is thrown", async () => {
    let failed = 0;
    let reached: () => void = () => undefined;
    const beaten = new Promise<void>((r) => (reached = r));
    const result = await withKeepAlive(
      async () => {
        failed += 1;
        reached();
        throw new Error('The group is rebalancing, so a rejoin is needed');
      },
      async () => {
        await beaten;
        return 42;
      },
    );
    assert.equal(result, 42);
    assert.ok(failed >= 1);
    await assert.rejects(
      withKeepAlive(
        async () => undefined,
        async () => Promise.reject(new Error('insert failed')),
      ),
      /insert failed/,
    );
  });

  it('runs the work as is without a heartbeat', async () => {
    assert.equal(await withKeepAlive(undefined, async () => 'x'), 'x');
  });
});
