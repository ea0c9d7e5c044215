import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import type { createClient } from '@clickhouse/client';
import type { ChdbConnection } from 'chdb/connection';

// The embedded engine (npm package chdb, a 543 MB native library) is an optional
// dependency: it is imported on first use only, so a service that talks to a ClickHouse
// server (CLICKHOUSE_URL) never maps it, and the production image does not ship it.

/** Thrown when the process would need a second embedded data directory. */
export class EmbeddedEngineConflictError extends Error {
  constructor(openDir: string, requestedDir: string) {
    super(
      `chDB allows one embedded data directory per process: '${openDir}' is open, '${requestedDir}' was requested. ` +
        'Close every ClickHouse on the open directory first, or use the same dataDir.',
    );
    this.name = 'EmbeddedEngineConflictError';
  }
}

/** Thrown when the embedded engine is needed but the optional package chdb is not installed. */
export class EmbeddedEngineUnavailableError extends Error {
  constructor(cause: unknown) {
    super(
      'the embedded ClickHouse engine (npm package chdb) is not installed: set CLICKHOUSE_URL to use a ClickHouse server, ' +
        'or run the image variant that includes it (Dockerfile target "embedded", or `npm ci` without --omit=optional)',
      { cause },
    );
    this.name = 'EmbeddedEngineUnavailableError';
  }
}

export const MEMORY_DIR = ':memory:';

type Chdb = typeof import('chdb');
type ChdbConnectionModule = typeof import('chdb/connection');

let chdbModules: Promise<{ chdb: Chdb; connection: ChdbConnectionModule }> | undefined;

/** The chdb modules, imported once per process on first call. */
export function loadChdb(): Promise<{ chdb: Chdb; connection: ChdbConnectionModule }> {
  chdbModules ??= Promise.all([import('chdb'), import('chdb/connection')]).then(
    // chdb is CommonJS: its exports are the default export of the ESM wrapper.
    ([chdb, connection]) => ({ chdb: interop(chdb), connection: interop(connection) }),
    (err: unknown) => {
      chdbModules = undefined;
      throw new EmbeddedEngineUnavailableError(err);
    },
  );
  return chdbModules;
}

function interop<T>(mod: T): T {
  const withDefault = mod as T & { default?: T };
  return withDefault.default ?? mod;
}

// chdb types its connection against @clickhouse/client-common 1.23.0, the client bundles its
// own (1.23.1) copy; the runtime contract is the same, the settings unions differ slightly.
export type ClientConnection = NonNullable<NonNullable<Parameters<typeof createClient>[0]>['connection']>;

export interface EmbeddedEngine {
  readonly dir: string;
  /** Settles once chdb is loaded and the data directory is open; rejects when chdb is missing. */
  readonly connection: Promise<ChdbConnection>;
  /** A connection for `@clickhouse/client` that waits for {@link EmbeddedEngine.connection} on every call. */
  readonly clientConnection: ClientConnection;
  refs: number;
}

// libchdb binds one data directory per process; every ClickHouse on that directory
// shares one connection, which is closed when the last of them closes.
let engine: EmbeddedEngine | undefined;

/** Opens (or shares) the process's embedded engine on `dataDir`. Synchronous: chdb loads in the background. */
export function acquireEngine(dataDir: string | undefined): EmbeddedEngine {
  const dir = dataDir === undefined || dataDir === MEMORY_DIR ? MEMORY_DIR : resolve(dataDir);
  if (engine) {
    if (engine.dir !== dir) throw new EmbeddedEngineConflictError(engine.dir, dir);
    engine.refs += 1;
    return engine;
  }
  if (dir !== MEMORY_DIR) mkdirSync(dir, { recursive: true });
  const connection = loadChdb().then(({ connection: m }) => m.createChdbConnection({ path: dir }));
  // Awaited by every use; this only keeps an unused failed load from being an unhandled rejection.
  connection.catch(() => undefined);
  const use = async (): Promise<ClientConnection> => (await connection) as unknown as ClientConnection;
  const clientConnection: ClientConnection = {
    ping: async (p) => (await use()).ping(p),
    query: async (p) => (await use()).query(p),
    insert: async (p) => (await use()).insert(p),
    command: async (p) => (await use()).command(p),
    exec: async (p) => (await use()).exec(p),
    close: async () => (await use()).close(),
  };
  engine = { dir, connection, clientConnection, refs: 1 };
  return engine;
}

export async function releaseEngine(e: EmbeddedEngine): Promise<void> {
  e.refs -= 1;
  if (e.refs > 0) return;
  if (engine === e) engine = undefined;
  const connection = await e.connection.catch(() => undefined);
  await connection?.close();
}
