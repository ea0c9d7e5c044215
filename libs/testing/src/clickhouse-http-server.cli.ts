// Test-only: serves the ClickHouse HTTP interface from the embedded engine in a process of
// its own, for running services in server mode (CLICKHOUSE_URL) without a ClickHouse server:
//   node libs/testing/dist/clickhouse-http-server.cli.js --data-dir .data/ch-http --port 8123 [--user u --password p]
// Prints the URL when it listens; stops on SIGINT/SIGTERM.
import { parseArgs } from 'node:util';
import { startClickHouseHttpServer } from './clickhouse-http-server.js';

const { values } = parseArgs({
  options: {
    'data-dir': { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '8123' },
    user: { type: 'string', default: 'default' },
    password: { type: 'string', default: '' },
  },
});
const dataDir = values['data-dir'];
const port = Number(values.port);
if (!dataDir || !Number.isInteger(port) || port < 0 || port > 65535) {
  process.stderr.write('usage: clickhouse-http-server.cli.js --data-dir DIR [--host 127.0.0.1] [--port 8123] [--user default] [--password ""]\n');
  process.exit(64);
}
const server = await startClickHouseHttpServer({ dataDir, host: values.host, port, users: { [values.user]: values.password } });
process.stdout.write(`${JSON.stringify({ event: 'clickhouse_http_server_listening', url: server.url, dataDir })}\n`);
const stop = (): void => {
  void server.close().then(() => process.exit(0));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
