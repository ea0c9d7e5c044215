import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { metricsRegistry } from '@calltrack/telemetry';
import { MemberTelemetry } from './consumer-metrics.js';

const STALL = 60_000;
const lagOf = async (group: string, partition: string): Promise<number | undefined> => {
  const m = await metricsRegistry.getSingleMetric('calltrack_consumer_lag')!.get();
  return m.values.find((v) => v.labels['group'] === group && v.labels['partition'] === partition)?.value;
};

describe('MemberTelemetry: consumer lag, progress and stall', () => {
  it('lag comes from the batch high watermark: records waiting at the start, what is left after the commit', async () => {
    const t = new MemberTelemetry('lag-test', () => true);
    t.assigned({ topic: [0, 1] });
    t.batchStarted('topic', 0, '110', '100');
    assert.equal(await lagOf('lag-test', '0'), 10);
    t.batchCommitted('topic', 0, '110', '109', 10, 0.01);
    assert.equal(await lagOf('lag-test', '0'), 0);
    t.batchStarted('topic', 1, '5', '3');
    // A rebalance that takes partition 1 away drops its series.
    t.assigned({ topic: [0] });
    assert.equal(await lagOf('lag-test', '1'), undefined);
    assert.equal(await lagOf('lag-test', '0'), 0);
    t.close();
    assert.equal(await lagOf('lag-test', '0'), undefined);
  });

  it('stalled only when assigned, with lag, and neither progress nor a deliberate wait for the stall time', () => {
    const t = new MemberTelemetry('stall-test', () => true);
    t.assigned({ topic: [0] });
    t.batchStarted('topic', 0, '10', '0');
    const now = Date.now();
    assert.equal(t.stalled(true, STALL, now + STALL - 1_000), false, 'not yet');
    assert.equal(t.stalled(true, STALL, now + STALL + 1_000), true, 'lag and no progress');
    assert.equal(t.stalled(false, STALL, now + STALL + 1_000), false, 'not assigned: the supervisor judges it');
    assert.equal(t.stalled(true, 0, now + STALL + 1_000), false, 'check turned off');
    t.recordSettled('topic');
    assert.equal(t.stalled(true, STALL, Date.now() + STALL - 1_000), false, 'a settled record is progress');
    t.close();
  });

  it('a consumer without lag is never stalled', () => {
    const t = new MemberTelemetry('idle-test', () => true);
    t.assigned({ topic: [0] });
    t.batchStarted('topic', 0, '10', '9');
    t.batchCommitted('topic', 0, '10', '9', 1, 0.01);
    assert.equal(t.stalled(true, STALL, Date.now() + 10 * STALL), false);
    t.close();
  });

  it('a record in backoff (partition paused until a time) and a wait step (flush retry, due-time wait, handler heartbeat) are not stalls', () => {
    const t = new MemberTelemetry('wait-test', () => true);
    t.assigned({ topic: [0] });
    t.batchStarted('topic', 0, '10', '0');
    const now = Date.now();
    t.waitUntil(now + 5 * STALL);
    assert.equal(t.stalled(true, STALL, now + 5 * STALL), false, 'paused for its backoff');
    assert.equal(t.stalled(true, STALL, now + 6 * STALL + 1_000), true, 'the backoff ended long ago');
    t.alive();
    assert.equal(t.stalled(true, STALL, Date.now() + STALL - 1_000), false, 'a wait step keeps it alive');
    t.close();
  });

  it('calltrack_consumer_up reports every member of a group: 0 when one of them is not joined', async () => {
    let second = false;
    const a = new MemberTelemetry('up-test', () => true);
    const b = new MemberTelemetry('up-test', () => second);
    const upOf = async () => (await metricsRegistry.getSingleMetric('calltrack_consumer_up')!.get()).values.find((v) => v.labels['group'] === 'up-test')?.value;
    assert.equal(await upOf(), 0);
    second = true;
    assert.equal(await upOf(), 1);
    a.close();
    b.close();
    assert.equal(await upOf(), undefined);
  });
});
