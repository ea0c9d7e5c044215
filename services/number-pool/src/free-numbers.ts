/** A free pool number as it was when it became free; the order is the pool's choice order. */
export interface FreeEntry {
  releasedAtMs: number;
  number: string;
}

const before = (a: FreeEntry, b: FreeEntry): boolean => a.releasedAtMs < b.releasedAtMs || (a.releasedAtMs === b.releasedAtMs && a.number < b.number);

/**
 * Free numbers ordered by release time (longest-released first, then by number):
 * a binary min-heap with lazy deletion. Entries go stale when their number is
 * leased, quarantined or leaves the pool; the caller's validity check drops them
 * when they reach the top, so choosing a number costs O(log n), not a pool scan.
 */
export class FreeNumbers {
  private readonly heap: FreeEntry[] = [];

  get size(): number {
    return this.heap.length;
  }

  push(entry: FreeEntry): void {
    const h = this.heap;
    h.push(entry);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(h[i]!, h[parent]!)) break;
      [h[i], h[parent]] = [h[parent]!, h[i]!];
      i = parent;
    }
  }

  /** The first entry that is still valid, dropping stale ones above it; the valid one stays. */
  peekValid(valid: (entry: FreeEntry) => boolean): FreeEntry | undefined {
    while (this.heap.length > 0) {
      const top = this.heap[0]!;
      if (valid(top)) return top;
      this.pop();
    }
    return undefined;
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop()!;
    if (h.length === 0) return;
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && before(h[l]!, h[m]!)) m = l;
      if (r < h.length && before(h[r]!, h[m]!)) m = r;
      if (m === i) return;
      [h[i], h[m]] = [h[m]!, h[i]!];
      i = m;
    }
  }
}
