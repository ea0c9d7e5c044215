import { randomUUID } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import pRetry, { AbortError } from 'p-retry';
import type { Logger } from '@calltrack/telemetry';
import { amiAction, AmiProtocolError, AmiStreamParser, type AmiMessage } from './ami-protocol.js';

export interface AmiClientOptions {
  host: string;
  port: number;
  username: string;
  secret: string;
  /** Event classes to receive (Login `Events`): channel events are class "call", CDRs class "cdr". */
  events?: string;
  reconnectMinMs: number;
  reconnectMaxMs: number;
  /** Bound on connecting plus logging in. */
  loginTimeoutMs?: number;
  /** How often a Ping checks that an idle connection is still alive. */
  pingIntervalMs?: number;
  logger: Logger;
  /** For logs: which PBX. */
  label: string;
  onEvent(message: AmiMessage): void;
}

export interface AmiClientStatus {
  connected: boolean;
  /** Successful logins since start. */
  sessions: number;
  /** Failed connection or login attempts since start. */
  failedAttempts: number;
  lastError: string | null;
  lastConnectedAt: string | null;
}

export class AmiLoginError extends Error {
  override readonly name = 'AmiLoginError';
}

interface Session {
  socket: Socket;
  closed: Promise<void>;
}

/**
 * A client of one Asterisk Manager Interface: connects, logs in with
 * Action: Login, hands every event to onEvent, and when the connection fails
 * or drops reconnects with exponential backoff (p-retry: doubling from
 * reconnectMinMs up to reconnectMaxMs, jittered), for as long as it runs.
 */
export class AmiClient {
  private stopping = false;
  private readonly abort = new AbortController();
  private socket: Socket | undefined;
  private loop: Promise<void> | undefined;
  private readonly state: AmiClientStatus = { connected: false, sessions: 0, failedAttempts: 0, lastError: null, lastConnectedAt: null };

  constructor(private readonly options: AmiClientOptions) {}

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.abort.abort(new AbortError('AMI client stopped'));
    this.socket?.destroy();
    await this.loop;
  }

  status(): AmiClientStatus {
    return { ...this.state };
  }

  private async run(): Promise<void> {
    const { logger, label } = this.options;
    while (!this.stopping) {
      let session: Session;
      try {
        // Each attempt is a fresh connection; the backoff starts over after every session that logged in.
        session = await pRetry(() => this.connectOnce(), {
          retries: Number.POSITIVE_INFINITY,
          factor: 2,
          minTimeout: this.options.reconnectMinMs,
          maxTimeout: this.options.reconnectMaxMs,
          randomize: true,
          signal: this.abort.signal,
          onFailedAttempt: ({ error, attemptNumber, retryDelay }) => {
            this.state.failedAttempts += 1;
            this.state.lastError = error.message;
            logger.warn({ event: 'ami_connect_failed', pbx: label, attempt: attemptNumber, retry_in_ms: retryDelay, err: error.message });
          },
        });
      } catch (err) {
        if (this.stopping) return;
        // Only an abort ends pRetry with infinite retries; keep going unless stopping.
        logger.error({ event: 'ami_client_failed', pbx: label, err });
        continue;
      }
      this.state.connected = true;
      this.state.sessions += 1;
      this.state.lastConnectedAt = new Date().toISOString();
      logger.info({ event: 'ami_connected', pbx: label, sessions: this.state.sessions });
      await session.closed;
      this.state.connected = false;
      if (!this.stopping) logger.warn({ event: 'ami_connection_lost', pbx: label });
    }
  }

  /** Connects and logs in; resolves with the live session, rejects (to be retried) on any failure. */
  private connectOnce(): Promise<Session> {
    const { host, port, username, secret, logger, label } = this.options;
    const actionId = randomUUID();
    return new Promise<Session>((resolve, reject) => {
      if (this.stopping) {
        reject(new AbortError('AMI client stopped'));
        return;
      }
      const socket = connect({ host, port });
      this.socket = socket;
      socket.setEncoding('utf8');
      socket.setNoDelay(true);
      socket.setKeepAlive(true, 30_000);
      const parser = new AmiStreamParser();
      let loggedIn = false;
      let lastDataAt = Date.now();
      let ping: NodeJS.Timeout | undefined;
      let resolveClosed!: () => void;
      const closed = new Promise<void>((r) => (resolveClosed = r));

      const fail = (err: Error): void => {
        if (!loggedIn) reject(err);
        socket.destroy();
      };
      const timeout = setTimeout(
        () => fail(new Error(`no AMI login within ${this.options.loginTimeoutMs ?? 10_000} ms`)),
        this.options.loginTimeoutMs ?? 10_000,
      );

      socket.on('data', (chunk: string) => {
        lastDataAt = Date.now();
        let messages: AmiMessage[];
        try {
          const hadBanner = parser.banner !== undefined;
          messages = parser.push(chunk);
          if (!hadBanner && parser.banner !== undefined) {
            logger.debug({ event: 'ami_banner', pbx: label, banner: parser.banner });
            socket.write(
              amiAction([
                ['Action', 'Login'],
                ['ActionID', actionId],
                ['Username', username],
                ['Secret', secret],
                ['Events', this.options.events ?? 'call,cdr'],
              ]),
            );
          }
        } catch (err) {
          logger.error({ event: 'ami_protocol_error', pbx: label, err: (err as Error).message });
          fail(err instanceof AmiProtocolError ? err : new AmiProtocolError(String(err)));
          return;
        }
        for (const m of messages) {
          if (!loggedIn && m.response !== undefined && m.get('ActionID') === actionId) {
            if (m.response.toLowerCase() === 'success') {
              loggedIn = true;
              clearTimeout(timeout);
              const every = this.options.pingIntervalMs ?? 30_000;
              // A silent peer behind a dead NAT mapping never closes: ping, and give up after three silent intervals.
              ping = setInterval(() => {
                if (Date.now() - lastDataAt > 3 * every) socket.destroy(new Error('AMI connection silent'));
                else
                  socket.write(
                    amiAction([
                      ['Action', 'Ping'],
                      ['ActionID', `ping-${actionId}`],
                    ]),
                  );
              }, every);
              ping.unref();
              resolve({ socket, closed });
            } else {
              fail(new AmiLoginError(`AMI login refused: ${m.get('Message') ?? m.response}`));
            }
            continue;
          }
          if (loggedIn && m.event !== undefined) {
            try {
              this.options.onEvent(m);
            } catch (err) {
              logger.error({ event: 'ami_event_handler_failed', pbx: label, ami_event: m.event, err });
            }
          }
        }
      });
      socket.on('error', (err) => {
        this.state.lastError = err.message;
        if (!loggedIn) reject(err);
      });
      socket.on('close', () => {
        clearTimeout(timeout);
        clearInterval(ping);
        if (!loggedIn) reject(new Error('AMI connection closed before login'));
        resolveClosed();
      });
    });
  }
}
