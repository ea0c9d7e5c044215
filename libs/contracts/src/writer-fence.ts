/**
 * Fencing of a partition's single writer (number-pool's pool events). An owner
 * that gains a partition first publishes a PoolWriterClaimed record on it; its
 * epoch is that record's offset + 1 and is stamped on every event it writes.
 * An event is a fact only if no later claim precedes it in the log: a former
 * owner that kept writing after the claim (a member stalled past its session
 * timeout) is fenced off. Log order decides, no clocks.
 *
 * The fence at an offset is the newest epoch whose claim lies before it; epochs
 * are learned from claims and from the events that carry them (epoch e means a
 * claim at offset e - 1), so a reader that starts mid-log learns the fence from
 * the new owner's first event. The answer depends on the record's position, not
 * on what was read before: a redelivered record gets the same answer.
 */
export class WriterFences {
  /** Known epochs per partition, ascending. */
  private readonly epochs = new Map<number, number[]>();

  /** True if the event is to be applied (call it for the records of a fenced topic). */
  admit(partition: number, offset: string | bigint | number, event: { type: string; writerEpoch?: number }): boolean {
    const at = Number(offset);
    if (event.type === 'PoolWriterClaimed') {
      this.learn(partition, at + 1);
      return true;
    }
    const epoch = event.writerEpoch ?? 0;
    if (epoch === 0) return true;
    this.learn(partition, epoch);
    return epoch >= this.fenceAt(partition, at);
  }

  /** The newest epoch whose claim lies before the offset (0: none known). */
  fenceAt(partition: number, offset: number): number {
    const list = this.epochs.get(partition);
    if (!list) return 0;
    let fence = 0;
    for (let i = list.length - 1; i >= 0; i -= 1) {
      if (list[i]! <= offset) {
        fence = list[i]!;
        break;
      }
    }
    return fence;
  }

  /** The newest epoch known on the partition (0: none). */
  epochOf(partition: number): number {
    const list = this.epochs.get(partition);
    return list?.[list.length - 1] ?? 0;
  }

  /** Starts a partition from a snapshot's fence. */
  set(partition: number, epoch: number): void {
    if (epoch > 0) this.learn(partition, epoch);
  }

  private learn(partition: number, epoch: number): void {
    const list = this.epochs.get(partition) ?? [];
    if (list.includes(epoch)) return;
    list.push(epoch);
    list.sort((a, b) => a - b);
    // Ownership changes are rare; keep the recent ones (a redelivery never reaches back further).
    if (list.length > 1000) list.shift();
    this.epochs.set(partition, list);
  }
}
