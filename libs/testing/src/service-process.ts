import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from './wait-for.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** A free loopback port (for services started as separate processes, which must be told their port). */
export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const server = createServer();
    server.once('error', rej);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => res(port));
    });
  });
}

/**
 * A service running as its own Node process from its compiled main.js, exactly
 * as in production; its logs go to .cache/test-logs/<name>-<n>.log.
 */
export class ServiceProcess {
  private child: ChildProcess | undefined;
  private starts = 0;
  readonly url: string;

  constructor(
    readonly name: string,
    readonly port: number,
    private readonly env: Record<string, string>,
  ) {
    this.url = `http://127.0.0.1:${port}`;
  }

  /** Spawns the process and waits for /readyz (a service rebuilding a long history may need longer than the default). */
  // On a busy machine loading a service's modules alone took 40-60 s: 60 s was not a hang.
  async start(readyTimeoutMs = Number(process.env['SERVICE_READY_TIMEOUT_MS'] ?? 180_000)): Promise<void> {
    this.starts += 1;
    const logDir = process.env['SERVICE_LOG_DIR'] ?? join(ROOT, '.cache/test-logs');
    mkdirSync(logDir, { recursive: true });
    // The child writes its logs straight to a file: it must not depend on this process staying alive to drain a pipe.
    const logFile = join(logDir, `${this.name}-${this.starts}.log`);
    const log = openSync(logFile, 'a');
    this.child = spawn(process.execPath, [join(ROOT, `services/${this.name}/dist/main.js`)], {
      env: {
        ...process.env,
        ...this.env,
        PORT: String(this.port),
        HTTP_HOST: '127.0.0.1',
        LOG_LEVEL: this.env['LOG_LEVEL'] ?? process.env['TEST_SERVICE_LOG_LEVEL'] ?? 'info',
      },
      stdio: ['ignore', log, log],
    });
    closeSync(log);
    const child = this.child;
    try {
      let exited: Error | undefined;
      await waitFor(
        async () => {
          // A process that exited will not become ready: stop waiting at once and say so.
          if (child.exitCode !== null) return (exited = new Error(`${this.name} exited with ${child.exitCode} before it was ready (log: ${logFile})`));
          const res = await fetch(`${this.url}/readyz`).catch(() => undefined);
          return res?.status === 200;
        },
        { timeoutMs: readyTimeoutMs, intervalMs: 200, what: `${this.name} to be ready` },
      );
      if (exited) throw exited;
    } catch (err) {
      // A service that never became ready is not left running behind a failed start.
      await this.stop();
      throw err;
    }
  }

  /** SIGKILL: no drain, no goodbye to the consumer group — a crash. */
  async kill(): Promise<void> {
    await this.signal('SIGKILL');
  }

  /** The running process's id (undefined before start and after exit). */
  get pid(): number | undefined {
    const child = this.child;
    return child && child.exitCode === null && child.signalCode === null ? child.pid : undefined;
  }

  /** SIGTERM: graceful shutdown. */
  async stop(): Promise<void> {
    await this.signal('SIGTERM');
  }

  /** SIGSTOP: the process freezes as in a long GC pause or a stalled VM (no heartbeats, no I/O). */
  pause(): void {
    this.child?.kill('SIGSTOP');
  }

  /** SIGCONT after pause(). */
  resume(): void {
    this.child?.kill('SIGCONT');
  }

  private async signal(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill(signal);
    // A graceful stop has SHUTDOWN_TIMEOUT_MS (25 s by default); past that, it is a hang.
    const timer = setTimeout(() => child.kill('SIGKILL'), 35_000);
    await exited;
    clearTimeout(timer);
  }
}
