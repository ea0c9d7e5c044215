import { createHash } from 'node:crypto';

/** Where a consumed record sits (a subset of ConsumedRecord). */
export interface RecordPosition {
  topicName: string;
  partition: number;
  offset: string;
}

/**
 * What a consumer collected in handle() for the batch being processed (one topic
 * partition). Items of an abandoned batch (consumer stopped or the group rebalanced
 * before flush) are dropped as soon as a record shows a new batch began: another
 * partition, or an offset before the last one seen.
 */
export class BatchBuffer<T> {
  #topic = '';
  #partition = -1;
  #first = -1n;
  #last = -1n;
  #items: Array<{ offset: bigint; item: T }> = [];

  /**
   * Starts or continues the batch of `record`; returns true when items of an abandoned batch
   * were dropped. The same record again (the consumer retrying it) replaces what it pushed before.
   */
  track(record: RecordPosition): boolean {
    const offset = BigInt(record.offset);
    const samePartition = this.#first >= 0n && record.topicName === this.#topic && record.partition === this.#partition;
    if (samePartition && offset > this.#last) {
      this.#last = offset;
      return false;
    }
    if (samePartition && offset === this.#last) {
      this.#items = this.#items.filter((i) => i.offset !== offset);
      return false;
    }
    const dropped = this.#items.length > 0;
    this.#topic = record.topicName;
    this.#partition = record.partition;
    this.#first = offset;
    this.#last = offset;
    this.#items = [];
    return dropped;
  }

  /** Adds an item for the record last tracked. */
  push(item: T): void {
    this.#items.push({ offset: this.#last, item });
  }

  get items(): T[] {
    return this.#items.map((i) => i.item);
  }

  get isEmpty(): boolean {
    return this.#items.length === 0;
  }

  /**
   * Dedup token of one insert of this batch: its topic, partition and offsets, plus
   * a hash of the rows. A redelivered batch that produces the same rows is dropped by
   * ClickHouse; different rows under the same offsets (a recreated topic, a match
   * that changed because state arrived meanwhile) get a new token and are stored.
   */
  token(label: string, rows: readonly object[]): string {
    const hash = createHash('sha256').update(JSON.stringify(rows)).digest('hex').slice(0, 16);
    return `${this.#topic}:${this.#partition}:${this.#first}-${this.#last}:${label}:${hash}`;
  }

  /** Forgets the batch once it is durable. */
  clear(): void {
    this.#items = [];
    this.#first = -1n;
    this.#last = -1n;
    this.#topic = '';
    this.#partition = -1;
  }
}
