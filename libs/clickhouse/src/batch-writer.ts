import type { ClickHouse } from './clickhouse-client.js';

/** Options of {@link BatchWriter}. */
export interface BatchWriterOptions {
  /** Target table, optionally `database.table`. */
  table: string;
  /** Largest number of rows per INSERT (default 50 000). */
  maxRowsPerInsert?: number;
}

/** What one {@link BatchWriter.write} sent. */
export interface BatchWriteResult {
  rows: number;
  inserts: number;
}

const DEFAULT_MAX_ROWS = 50_000;

/**
 * Idempotent batched inserts for at-least-once consumers: resolve `write()`, then commit offsets.
 *
 * Two layers make a replayed batch harmless: each INSERT carries `insert_deduplication_token`
 * `${dedupToken}:${i}` (the server drops a repeat while the token is within the table's
 * `non_replicated_deduplication_window`), and target tables are ReplacingMergeTree keyed on the
 * event, which collapses whatever slips through (e.g. a replay with a different chunk size);
 * read them with `FINAL` or `argMax`. The same token with different rows is also dropped, so
 * derive it from the batch's identity (topic, partition, offset range).
 */
export class BatchWriter<Row extends object> {
  readonly #ch: Pick<ClickHouse, 'insertJsonEachRow'>;
  readonly #table: string;
  readonly #maxRows: number;

  constructor(ch: Pick<ClickHouse, 'insertJsonEachRow'>, options: BatchWriterOptions) {
    const maxRows = options.maxRowsPerInsert ?? DEFAULT_MAX_ROWS;
    if (!Number.isInteger(maxRows) || maxRows < 1) throw new RangeError(`maxRowsPerInsert must be a positive integer, got ${maxRows}`);
    this.#ch = ch;
    this.#table = options.table;
    this.#maxRows = maxRows;
  }

  /** Inserts `rows` in chunks, one after another; rejects on the first failure (retry the whole batch with the same token). */
  async write(rows: readonly Row[], dedupToken: string): Promise<BatchWriteResult> {
    if (dedupToken === '') throw new Error('BatchWriter.write needs a non-empty dedupToken');
    let inserts = 0;
    for (let start = 0; start < rows.length; start += this.#maxRows) {
      const chunk = rows.slice(start, start + this.#maxRows);
      await this.#ch.insertJsonEachRow(this.#table, chunk, { dedupToken: `${dedupToken}:${inserts}` });
      inserts += 1;
    }
    return { rows: rows.length, inserts };
  }
}
