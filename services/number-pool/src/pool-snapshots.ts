import { promisify } from 'node:util';
import { gunzipSync, gzip } from 'node:zlib';
import { randomUUID } from 'node:crypto';
import { createEvent, derivedEventId, type AnyDomainEvent, type DomainEvent } from '@calltrack/contracts';
import type { PoolStateSnapshot } from './pool-state.js';

export const SNAPSHOT_ENCODING = 'json+gzip/1';
/** Well under the broker's 1 MiB message limit (and the producer's 512 KiB request cap), envelope included. */
export const SNAPSHOT_CHUNK_BYTES = 256 * 1024;

/** What a snapshot holds besides the state: the partition's writer fence at the covered offset. */
export interface SnapshotDocument {
  state: PoolStateSnapshot;
  /** Epoch of the latest PoolWriterClaimed at or before the covered offset (0: none). */
  fence: number;
}

export interface LoadedSnapshot {
  partition: number;
  snapshotId: string;
  /** Last pool-events offset the state includes; -1n for none. */
  coveredOffset: bigint;
  takenAtMs: number;
  /** Record keys of its chunks (tombstoned once a newer snapshot is complete). */
  keys: string[];
  document: SnapshotDocument;
}

export const snapshotSiteId = (partition: number): string => `partition:${partition}`;

/** The chunks of one snapshot, in order; each a PoolSnapshotChunk event with its record key. */
const gzipAsync = promisify(gzip);

export async function snapshotChunks(
  partition: number,
  coveredOffset: bigint,
  document: SnapshotDocument,
  producer: string,
  nowMs = Date.now(),
): Promise<{ snapshotId: string; chunks: Array<{ key: string; event: DomainEvent<'PoolSnapshotChunk'> }> }> {
  const data = await gzipAsync(Buffer.from(JSON.stringify(document), 'utf8'));
  const snapshotId = randomUUID();
  const count = Math.max(1, Math.ceil(data.length / SNAPSHOT_CHUNK_BYTES));
  const chunks = Array.from({ length: count }, (_, i) => {
    const key = `${partition}:${snapshotId}:${i}`;
    const event = createEvent(
      'PoolSnapshotChunk',
      {
        partition,
        coveredOffset: Number(coveredOffset),
        snapshotId,
        chunkIndex: i,
        chunkCount: count,
        encoding: SNAPSHOT_ENCODING,
        data: data.subarray(i * SNAPSHOT_CHUNK_BYTES, (i + 1) * SNAPSHOT_CHUNK_BYTES),
        takenAtMs: nowMs,
      },
      { siteId: snapshotSiteId(partition), producer, eventId: derivedEventId(snapshotId, i), occurredAtMs: nowMs },
    );
    return { key, event };
  });
  return { snapshotId, chunks };
}

/**
 * Collects the pool-snapshots topic (read whole: it is compacted and small) and
 * finds each partition's latest complete snapshot. A snapshot whose writer died
 * half-way has missing chunks and is passed over for the previous one, which is
 * only tombstoned after its successor is complete.
 */
export class SnapshotCatalog {
  private readonly chunks = new Map<string, DomainEvent<'PoolSnapshotChunk'>>();
  /** Chunks that could not be read (wrong type, unknown encoding), for the log. */
  skipped = 0;

  add(key: string | null, event: AnyDomainEvent | undefined): void {
    if (!key) return;
    if (!event) {
      // A tombstone: that snapshot was superseded.
      this.chunks.delete(key);
      return;
    }
    if (event.type !== 'PoolSnapshotChunk' || event.payload.encoding !== SNAPSHOT_ENCODING) {
      this.skipped += 1;
      return;
    }
    this.chunks.set(key, event);
  }

  /** The latest complete snapshot of a partition, decoded; undefined if there is none. */
  latest(partition: number): LoadedSnapshot | undefined {
    const byId = new Map<string, Array<{ key: string; event: DomainEvent<'PoolSnapshotChunk'> }>>();
    for (const [key, event] of this.chunks) {
      if (event.payload.partition !== partition) continue;
      const list = byId.get(event.payload.snapshotId) ?? [];
      list.push({ key, event });
      byId.set(event.payload.snapshotId, list);
    }
    const complete = [...byId.values()]
      .filter((list) => {
        const count = list[0]!.event.payload.chunkCount;
        return list.length === count && new Set(list.map((c) => c.event.payload.chunkIndex)).size === count;
      })
      .sort(
        (a, b) =>
          Number(b[0]!.event.payload.coveredOffset) - Number(a[0]!.event.payload.coveredOffset) ||
          Number(b[0]!.event.payload.takenAtMs) - Number(a[0]!.event.payload.takenAtMs),
      );
    const best = complete[0];
    if (!best) return undefined;
    best.sort((a, b) => a.event.payload.chunkIndex - b.event.payload.chunkIndex);
    const data = Buffer.concat(best.map((c) => c.event.payload.data));
    const document = JSON.parse(gunzipSync(data).toString('utf8')) as SnapshotDocument;
    const head = best[0]!.event.payload;
    return {
      partition,
      snapshotId: head.snapshotId,
      coveredOffset: BigInt(Number(head.coveredOffset)),
      takenAtMs: Number(head.takenAtMs),
      keys: best.map((c) => c.key),
      document,
    };
  }

  /** Keys of every chunk of the partition other than the given snapshot's (superseded or incomplete). */
  staleKeys(partition: number, keep: string | undefined): string[] {
    return [...this.chunks].filter(([, e]) => e.payload.partition === partition && e.payload.snapshotId !== keep).map(([key]) => key);
  }
}
