import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createEvent } from '@calltrack/contracts';
import { ApplyOnce, type FollowedRecord, type FollowPhase } from './compacted-topic-follower.js';

const record = (partition: number, offset: number, phase: FollowPhase, phone = `+7495${partition}${offset}`): FollowedRecord => ({
  topic: 'antifraudBlocklist',
  partition,
  offset: String(offset),
  key: phone,
  event: createEvent('CallerBlocked', { phone, reason: 'test' }, { siteId: 'site-a', producer: 'test' }),
  phase,
});

describe('ApplyOnce (what CompactedTopicFollower runs the replay and the live records through)', () => {
  it('given a replayed partition, when the live consumer re-reads it from the beginning, then only the records after the replay apply', async () => {
    const applied: string[] = [];
    const once = new ApplyOnce((r) => void applied.push(`${r.phase}:${r.partition}:${r.offset}`));
    for (const offset of [0, 1, 2]) assert.equal(await once.offer(record(0, offset, 'replay')), true);
    assert.equal(await once.offer(record(1, 0, 'replay')), true);
    // The live consumer starts from the beginning of every partition.
    for (const offset of [0, 1, 2, 3]) await once.offer(record(0, offset, 'follow'));
    for (const offset of [0, 1]) await once.offer(record(1, offset, 'follow'));
    await once.offer(record(2, 0, 'follow'));
    assert.deepEqual(applied, ['replay:0:0', 'replay:0:1', 'replay:0:2', 'replay:1:0', 'follow:0:3', 'follow:1:1', 'follow:2:0']);
  });

  it('given a live record applied, when its batch is redelivered, then it does not apply again (the state never steps back)', async () => {
    const applied: string[] = [];
    const once = new ApplyOnce((r) => void applied.push(r.offset));
    await once.offer(record(0, 5, 'follow'));
    await once.offer(record(0, 6, 'follow'));
    assert.equal(await once.offer(record(0, 5, 'follow')), false);
    assert.equal(await once.offer(record(0, 6, 'follow')), false);
    assert.deepEqual(applied, ['5', '6']);
  });

  it('given an apply that throws, when the record is offered again, then it applies (a failure marks nothing)', async () => {
    let failures = 1;
    const applied: string[] = [];
    const once = new ApplyOnce((r) => {
      if (failures-- > 0) throw new Error('not yet');
      applied.push(r.offset);
    });
    await assert.rejects(once.offer(record(0, 0, 'follow')), /not yet/);
    assert.equal(await once.offer(record(0, 0, 'follow')), true);
    assert.deepEqual(applied, ['0']);
  });

  it('given a replay that starts over, when reset, then its records apply again in order', async () => {
    const applied: string[] = [];
    const once = new ApplyOnce((r) => void applied.push(r.offset));
    await once.offer(record(0, 0, 'replay'));
    await once.offer(record(0, 1, 'replay'));
    once.reset();
    await once.offer(record(0, 0, 'replay'));
    await once.offer(record(0, 1, 'replay'));
    assert.deepEqual(applied, ['0', '1', '0', '1']);
  });
});
