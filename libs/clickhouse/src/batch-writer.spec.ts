import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BatchWriter } from './batch-writer.js';
import type { InsertOptions } from './clickhouse-client.js';

interface Call {
  table: string;
  rows: readonly object[];
  options: InsertOptions | undefined;
}

function fakeClickHouse(failOn?: number): { calls: Call[]; insertJsonEachRow: (t: string, r: readonly object[], o?: InsertOptions) => Promise<void> } {
  const calls: Call[] = [];
  return {
    calls,
    insertJsonEachRow: async (table, rows, options) => {
      calls.push({ table, rows, options });
      if (calls.length === failOn) throw new Error('insert failed');
    },
  };
}

const rows = (n: number): Array<{ event_id: string }> => Array.from({ length: n }, (_, i) => ({ event_id: `e${i}` }));

describe('BatchWriter', () => {
  it('splits a batch into chunks with derived tokens', async () => {
    const ch = fakeClickHouse();
    const writer = new BatchWriter<{ event_id: string }>(ch, { table: 'visits', maxRowsPerInsert: 2 });
    assert.deepEqual(await writer.write(rows(5), 'visits:3:10-14'), { rows: 5, inserts: 3 });
    assert.deepEqual(
      ch.calls.map((c) => [c.table, c.rows.length, c.options?.dedupToken]),
      [
        ['visits', 2, 'visits:3:10-14:0'],
        ['visits', 2, 'visits:3:10-14:1'],
        ['visits', 1, 'visits:3:10-14:2'],
      ],
    );
    assert.deepEqual(
      ch.calls.flatMap((c) => c.rows),
      rows(5),
    );
  });

  it('sends a batch within the limit as one insert, and nothing for an empty batch', async () => {
    const ch = fakeClickHouse();
    const writer = new BatchWriter(ch, { table: 't' });
    await writer.write(rows(50_000), 'tok');
    await writer.write([], 'tok2');
    assert.deepEqual(
      ch.calls.map((c) => [c.rows.length, c.options?.dedupToken]),
      [[50_000, 'tok:0']],
    );
  });

  it('rejects on the first failed chunk and sends no more', async () => {
    const ch = fakeClickHouse(2);
    const writer = new BatchWriter(ch, { table: 't', maxRowsPerInsert: 1 });
    await assert.rejects(writer.write(rows(4), 'tok'), /insert failed/);
    assert.equal(ch.calls.length, 2);
  });

  it('refuses an empty token and a non-positive chunk size', async () => {
    const writer = new BatchWriter(fakeClickHouse(), { table: 't' });
    await assert.rejects(writer.write(rows(1), ''), /non-empty dedupToken/);
    assert.throws(() => new BatchWriter(fakeClickHouse(), { table: 't', maxRowsPerInsert: 0 }), RangeError);
  });
});
