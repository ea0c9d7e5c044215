import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { ClickHouse } from './clickhouse-client.js';

/** Structured log callback, e.g. `(event, fields) => logger.info(fields, event)`. */
export type LockLog = (event: string, fields: Record<string, unknown>) => void;

type LockClient = Pick<ClickHouse, 'command' | 'query'>;

/** Thrown when a live holder kept the lock for longer than the caller was willing to wait. */
export class MigrationLockTimeoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MigrationLockTimeoutError';
  }
}

/** Thrown by {@link HeldMigrationLock.assertHeld} once another runner broke the lock (it took us for dead). */
export class MigrationLockLostError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MigrationLockLostError';
  }
}

export interface MigrationLockOptions {
  /** Who holds the lock, as shown to waiting runners (default `<host>:<pid>:<random>`). */
  holder?: string;
  /** A holder whose last heartbeat is older than this (by the server's clock) is presumed dead (default 120 s). */
  ttlMs?: number;
  /** How often the holder proves it is alive (default ttlMs / 4). */
  heartbeatMs?: number;
  /** How long to wait for a live holder before giving up (default: for ever). */
  waitMs?: number;
  /** How often a waiting runner looks again (default 1 s). */
  pollMs?: number;
  log?: LockLog;
}

export interface HeldMigrationLock {
  readonly generation: number;
  readonly holder: string;
  /** Throws {@link MigrationLockLostError} when another runner has taken the lock over since. */
  assertHeld(): Promise<void>;
  /** Marks the lock free and stops the heartbeat. Idempotent. */
  release(): Promise<void>;
}

/** Lock tables: `_migrations_lock_<generation>`; the highest generation is the lock's current state. */
export const LOCK_TABLE_PREFIX = '_migrations_lock_';
const LOCK_TABLE = /^_migrations_lock_(\d+)$/;
const DEFAULT_TTL_MS = 120_000;
const WAIT_LOG_EVERY_MS = 30_000;

interface GenerationState {
  holder: string;
  released: boolean;
  /** Milliseconds since the last heartbeat (or the claim), by the server's clock. */
  ageMs: number;
  /** The holder's own ttl: a breaker honours the longer of its own and the holder's. */
  ttlMs: number;
}

const lockTable = (generation: number): string => `${LOCK_TABLE_PREFIX}${generation}`;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function defaultHolder(): string {
  return `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
}

function isAlreadyExists(err: unknown): boolean {
  const e = err as { type?: unknown; code?: unknown; message?: unknown };
  return e?.type === 'TABLE_ALREADY_EXISTS' || String(e?.code) === '57' || /already exists/i.test(typeof e?.message === 'string' ? e.message : '');
}

function isUnknownTable(err: unknown): boolean {
  const e = err as { type?: unknown; code?: unknown; message?: unknown };
  return (
    e?.type === 'UNKNOWN_TABLE' ||
    String(e?.code) === '60' ||
    /doesn't exist|does not exist|unknown table/i.test(typeof e?.message === 'string' ? e.message : '')
  );
}

async function generations(ch: LockClient): Promise<number[]> {
  const rows = await ch.query<{ name: string }>('SELECT name FROM system.tables WHERE database = currentDatabase() AND startsWith(name, {prefix:String})', {
    prefix: LOCK_TABLE_PREFIX,
  });
  return rows
    .map((r) => LOCK_TABLE.exec(r.name))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
}

/** The state of one generation, or undefined when its table is gone (dropped by a later holder's clean-up). */
async function stateOf(ch: LockClient, generation: number): Promise<GenerationState | undefined> {
  try {
    const [beats] = await ch.query<{ beats: string; released: number; holder: string; age_ms: string; ttl_ms: string }>(
      `SELECT count() AS beats, max(released) AS released, argMax(holder, at) AS holder,
              dateDiff('millisecond', max(at), now64(3)) AS age_ms, max(ttl_ms) AS ttl_ms
       FROM ${lockTable(generation)}`,
    );
    if (beats && Number(beats.beats) > 0) {
      return { holder: beats.holder, released: Number(beats.released) === 1, ageMs: Number(beats.age_ms), ttlMs: Number(beats.ttl_ms) };
    }
    // Claimed but no heartbeat yet (or the claimer died right after its CREATE): the claim time is the table's.
    const [meta] = await ch.query<{ comment: string; age_ms: string }>(
      `SELECT comment, dateDiff('millisecond', toDateTime64(metadata_modification_time, 3), now64(3)) AS age_ms
       FROM system.tables WHERE database = currentDatabase() AND name = {name:String}`,
      { name: lockTable(generation) },
    );
    if (!meta) return undefined;
    const holder = /holder=(\S+)/.exec(meta.comment)?.[1] ?? 'unknown';
    const ttlMs = Number(/ttl_ms=(\d+)/.exec(meta.comment)?.[1] ?? 0);
    return { holder, released: false, ageMs: Number(meta.age_ms), ttlMs };
  } catch (err) {
    if (isUnknownTable(err)) return undefined;
    throw err;
  }
}

/**
 * Takes the migration lock of the client's database.
 *
 * ClickHouse has no advisory locks; the atomic step is a DDL claim: `CREATE TABLE
 * _migrations_lock_<n>` without IF NOT EXISTS, which exactly one of several concurrent
 * creators wins (the others get TABLE_ALREADY_EXISTS). The highest generation `n` is the
 * lock: held while its holder heartbeats (rows with the server's time), free once released
 * or once its last heartbeat is older than the ttl (the holder is presumed dead). Taking a
 * free or stale lock is claiming generation n+1, so two runners breaking the same stale lock
 * race on one CREATE and one of them wins; the broken holder learns of it (a higher
 * generation exists) at its next heartbeat or {@link HeldMigrationLock.assertHeld} and stops.
 * The highest generation is never dropped (only older ones, by a holder), so generations
 * only grow and no claim can be made on a state someone else already moved past.
 */
export async function acquireMigrationLock(ch: LockClient, options: MigrationLockOptions = {}): Promise<HeldMigrationLock> {
  const holder = (options.holder ?? defaultHolder()).replace(/[^A-Za-z0-9._:@-]/g, '_');
  const ttlMs = options.ttlMs ?? DEFAULT_TTL_MS;
  const heartbeatMs = options.heartbeatMs ?? Math.max(50, Math.floor(ttlMs / 4));
  const pollMs = options.pollMs ?? 1000;
  const log = options.log ?? (() => {});
  const deadline = Date.now() + (options.waitMs ?? Number.POSITIVE_INFINITY);
  let lastWaitLog = 0;

  for (;;) {
    const gens = await generations(ch);
    const current = gens.at(-1);
    let candidate = 1;
    if (current !== undefined) {
      const state = await stateOf(ch, current);
      if (state === undefined) continue; // dropped between the listing and the look: list again
      const limit = Math.max(ttlMs, state.ttlMs);
      if (!state.released && state.ageMs <= limit) {
        if (Date.now() > deadline) {
          throw new MigrationLockTimeoutError(
            `the migration lock is held by ${state.holder} (generation ${current}, last heartbeat ${state.ageMs} ms ago); gave up waiting`,
          );
        }
        if (Date.now() - lastWaitLog >= WAIT_LOG_EVERY_MS) {
          lastWaitLog = Date.now();
          log('migration_lock.waiting', { holder: state.holder, generation: current, heartbeatAgeMs: state.ageMs });
        }
        await sleep(pollMs);
        continue;
      }
      if (!state.released) log('migration_lock.breaking', { staleHolder: state.holder, generation: current, heartbeatAgeMs: state.ageMs, ttlMs: limit });
      candidate = current + 1;
    }
    try {
      // The claim: no IF NOT EXISTS, so of concurrent claimers of one generation exactly one succeeds.
      await ch.command(
        `CREATE TABLE ${lockTable(candidate)} (holder String, at DateTime64(3, 'UTC'), released UInt8, ttl_ms UInt32) ` +
          `ENGINE = MergeTree ORDER BY at COMMENT 'calltrack migration lock holder=${holder} ttl_ms=${ttlMs}'`,
      );
    } catch (err) {
      if (isAlreadyExists(err)) continue; // another runner claimed it first: look again
      throw err;
    }
    const lock = new Lock(ch, candidate, holder, ttlMs, heartbeatMs, log);
    // A claim made from an outdated listing (generations moved on and the one we created had been
    // cleaned up) is not the lock: the highest generation is.
    const after = await generations(ch);
    if (after.some((g) => g > candidate)) {
      await ch.command(`DROP TABLE IF EXISTS ${lockTable(candidate)}`).catch(() => undefined);
      continue;
    }
    await lock.beat();
    for (const old of after.filter((g) => g < candidate)) {
      await ch.command(`DROP TABLE IF EXISTS ${lockTable(old)}`).catch(() => undefined);
    }
    lock.startHeartbeat();
    log('migration_lock.acquired', { holder, generation: candidate });
    return lock;
  }
}

class Lock implements HeldMigrationLock {
  #timer: NodeJS.Timeout | undefined;
  #lost: string | undefined;
  #released = false;
  #lastBeatOk = Date.now();
  #beating: Promise<void> | undefined;

  constructor(
    private readonly ch: LockClient,
    readonly generation: number,
    readonly holder: string,
    private readonly ttlMs: number,
    private readonly heartbeatMs: number,
    private readonly log: LockLog,
  ) {}

  async beat(released = false): Promise<void> {
    await this.ch.command(
      `INSERT INTO ${lockTable(this.generation)} (holder, at, released, ttl_ms) SELECT {holder:String}, now64(3), {released:UInt8}, {ttl:UInt32}`,
      {
        holder: this.holder,
        released: released ? 1 : 0,
        ttl: this.ttlMs,
      },
    );
    this.#lastBeatOk = Date.now();
  }

  startHeartbeat(): void {
    this.#timer = setInterval(() => {
      if (this.#beating || this.#released) return;
      this.#beating = this.#heartbeat().finally(() => (this.#beating = undefined));
    }, this.heartbeatMs);
    // The runner's work keeps the process alive, not the heartbeat.
    this.#timer.unref();
  }

  async #heartbeat(): Promise<void> {
    try {
      await this.#check();
      if (this.#lost) return;
      await this.beat();
    } catch (err) {
      // Past the ttl without a heartbeat another runner may rightly have taken over: stop before the next step.
      if (Date.now() - this.#lastBeatOk > this.ttlMs) this.#markLost(`no heartbeat for ${Date.now() - this.#lastBeatOk} ms (${(err as Error).message})`);
      else this.log('migration_lock.heartbeat_failed', { holder: this.holder, generation: this.generation, err: (err as Error).message });
    }
  }

  async #check(): Promise<void> {
    const gens = await generations(this.ch);
    const newer = gens.filter((g) => g > this.generation);
    if (newer.length > 0) this.#markLost(`generation ${newer.at(-1)} was claimed after ours (${this.generation}): we were taken for dead`);
    else if (!gens.includes(this.generation)) this.#markLost(`our lock table ${lockTable(this.generation)} is gone`);
  }

  #markLost(reason: string): void {
    if (this.#lost) return;
    this.#lost = reason;
    this.log('migration_lock.lost', { holder: this.holder, generation: this.generation, reason });
  }

  async assertHeld(): Promise<void> {
    if (!this.#lost && !this.#released) await this.#check();
    if (this.#released) throw new MigrationLockLostError('the migration lock was released');
    if (this.#lost) throw new MigrationLockLostError(`lost the migration lock: ${this.#lost}`);
  }

  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    clearInterval(this.#timer);
    await this.#beating;
    if (this.#lost) return;
    try {
      await this.beat(true);
      this.log('migration_lock.released', { holder: this.holder, generation: this.generation });
    } catch (err) {
      // Not fatal: the lock turns stale after the ttl and the next runner breaks it.
      this.log('migration_lock.release_failed', { holder: this.holder, generation: this.generation, err: (err as Error).message });
    }
  }
}
