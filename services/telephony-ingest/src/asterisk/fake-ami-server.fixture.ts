import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';

// A stand-in for an Asterisk Manager Interface, for tests: speaks the AMI wire
// format as Asterisk documents it — the banner line "Asterisk Call Manager/<v>",
// then messages of "Key: Value" lines ended by CRLF, each message ended by a
// blank line — answers Login (and closes the connection after a refused one,
// as Asterisk does) and Ping, and sends the events a test gives it.

export const FAKE_AMI_BANNER = 'Asterisk Call Manager/5.0.1';

export interface FakeAmiLogin {
  username: string;
  accepted: boolean;
  events: string | undefined;
}

export class FakeAmiServer {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly loggedIn = new Set<Socket>();
  /** Every Login received, in order. */
  readonly logins: FakeAmiLogin[] = [];
  /** Actions that broke the wire format (a line without "Key: Value"). */
  readonly protocolErrors: string[] = [];
  /** When false, every Login is refused (wrong secret, as far as the client can tell). */
  acceptLogins = true;

  private constructor(
    private readonly username: string,
    private readonly secret: string,
  ) {
    this.server = createServer((socket) => this.onConnection(socket));
  }

  static async start(credentials: { username: string; secret: string }): Promise<FakeAmiServer> {
    const fake = new FakeAmiServer(credentials.username, credentials.secret);
    await new Promise<void>((resolve) => fake.server.listen(0, '127.0.0.1', resolve));
    return fake;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Connections that logged in and are still open. */
  get sessions(): number {
    return this.loggedIn.size;
  }

  /** Sends one event to every logged-in connection. */
  emit(event: string, fields: Record<string, string>): void {
    const text = [`Event: ${event}`, ...Object.entries(fields).map(([k, v]) => `${k}: ${v}`)].join('\r\n') + '\r\n\r\n';
    for (const s of this.loggedIn) s.write(text);
  }

  /** Drops every connection, as a PBX restart or a network failure would. */
  dropConnections(): void {
    for (const s of this.sockets) s.destroy();
  }

  async close(): Promise<void> {
    this.dropConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private onConnection(socket: Socket): void {
    this.sockets.add(socket);
    socket.setEncoding('utf8');
    socket.on('close', () => {
      this.sockets.delete(socket);
      this.loggedIn.delete(socket);
    });
    socket.on('error', () => undefined);
    socket.write(`${FAKE_AMI_BANNER}\r\n`);
    let buffer = '';
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      for (let end = buffer.indexOf('\r\n\r\n'); end >= 0; end = buffer.indexOf('\r\n\r\n')) {
        const message = buffer.slice(0, end);
        buffer = buffer.slice(end + 4);
        this.onAction(socket, message);
      }
    });
  }

  private onAction(socket: Socket, message: string): void {
    const fields = new Map<string, string>();
    for (const line of message.split('\r\n')) {
      const m = /^([A-Za-z0-9_-]+): (.*)$/.exec(line);
      if (!m) {
        this.protocolErrors.push(line);
        socket.write('Response: Error\r\nMessage: Missing action in request\r\n\r\n');
        return;
      }
      fields.set(m[1]!.toLowerCase(), m[2]!);
    }
    const actionId = fields.get('actionid');
    const idLine = actionId === undefined ? '' : `ActionID: ${actionId}\r\n`;
    switch (fields.get('action')?.toLowerCase()) {
      case 'login': {
        const accepted = this.acceptLogins && fields.get('username') === this.username && fields.get('secret') === this.secret;
        this.logins.push({ username: fields.get('username') ?? '', accepted, events: fields.get('events') });
        if (accepted) {
          this.loggedIn.add(socket);
          socket.write(`Response: Success\r\n${idLine}Message: Authentication accepted\r\n\r\n`);
          socket.write('Event: FullyBooted\r\nPrivilege: system,all\r\nStatus: Fully Booted\r\n\r\n');
        } else {
          socket.end(`Response: Error\r\n${idLine}Message: Authentication failed\r\n\r\n`);
        }
        return;
      }
      case 'ping':
        socket.write(`Response: Success\r\n${idLine}Ping: Pong\r\nTimestamp: ${(Date.now() / 1000).toFixed(6)}\r\n\r\n`);
        return;
      default:
        socket.write(`Response: Error\r\n${idLine}Message: Invalid/unknown command\r\n\r\n`);
    }
  }
}
