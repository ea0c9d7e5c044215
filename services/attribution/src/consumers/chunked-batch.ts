import type { ConsumedRecord } from '@calltrack/kafka';
import { BatchBuffer } from './batch-buffer.js';
import { chunksOf } from './chunks.js';

/** Where a chunk sits in its batch (1-based), for the log. */
export interface ChunkPosition {
  chunk: number;
  chunks: number;
}

/**
 * What the live calls and enquiries consumers share: the items handle() collected for the
 * batch in hand, and a flush that works through them in chunks with a heartbeat between
 * chunks. A backlog brings batches of thousands of records; the work between two heartbeats
 * is one chunk (within a chunk the batch consumer heartbeats on the flush's behalf, bounded
 * by maxBlockedMs). A retried flush goes on from the first chunk that is not durable yet,
 * and a chunk redone gets the same dedup token, so its inserts are stored once.
 */
export class ChunkedBatch<T> {
  private readonly buffer = new BatchBuffer<T>();
  private chunksDone = 0;
  // Every record of a batch carries the same heartbeat.
  private heartbeat: (() => Promise<void>) | undefined;

  constructor(private readonly chunkSize: number) {}

  /** A record of the batch in hand; true when items of an abandoned batch were dropped. */
  track(record: ConsumedRecord): boolean {
    this.chunksDone = 0;
    this.heartbeat = record.heartbeat;
    return this.buffer.track(record);
  }

  /** Adds an item for the record last tracked. */
  push(item: T): void {
    this.buffer.push(item);
  }

  /**
   * Runs `work` on each chunk of `select(items)` not yet durable, with the dedup token of its
   * inserts (`label` names the consumer), then forgets the batch. A heartbeat between chunks
   * throws when the group is rebalancing: the batch stops there, uncommitted, and is redone.
   */
  async flush(label: string, select: (items: T[]) => T[], work: (chunk: T[], token: string, at: ChunkPosition) => Promise<void>): Promise<void> {
    if (this.buffer.isEmpty) {
      this.buffer.clear();
      return;
    }
    const chunks = chunksOf(select(this.buffer.items), this.chunkSize);
    const heartbeat = this.heartbeat;
    while (this.chunksDone < chunks.length) {
      await work(chunks[this.chunksDone]!, this.buffer.token(`${label}:${this.chunksDone}`, []), { chunk: this.chunksDone + 1, chunks: chunks.length });
      this.chunksDone += 1;
      if (heartbeat && this.chunksDone < chunks.length) await heartbeat();
    }
    this.chunksDone = 0;
    this.buffer.clear();
  }
}
