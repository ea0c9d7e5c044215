/**
 * The last offset a start-up replay applied, per topic partition. The live
 * consumer that follows must start from the beginning (a fresh group at
 * "latest" would miss what was published in between) and skips what the
 * replay already applied, so the state never steps back to an older record.
 */
export class ReplayWatermark {
  private readonly upTo = new Map<string, bigint>();

  mark(topic: string, partition: number, offset: string): void {
    const id = `${topic}:${partition}`;
    const o = BigInt(offset);
    const prev = this.upTo.get(id);
    if (prev === undefined || o > prev) this.upTo.set(id, o);
  }

  /** True when the replay already applied this record. */
  covers(topic: string, partition: number, offset: string): boolean {
    const prev = this.upTo.get(`${topic}:${partition}`);
    return prev !== undefined && BigInt(offset) <= prev;
  }

  /** Forgets every mark (a replay that starts over). */
  clear(): void {
    this.upTo.clear();
  }
}
