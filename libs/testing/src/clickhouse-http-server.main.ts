// Serves the ClickHouse HTTP interface over an embedded engine in its own process (tests of the
// server mode): CLICKHOUSE_DATA_DIR, PORT. Prints "listening <url>" once it accepts queries.
import { ClickHouseHttpServer } from './clickhouse-http-server.js';

const dataDir = process.env['CLICKHOUSE_DATA_DIR'];
if (!dataDir) throw new Error('CLICKHOUSE_DATA_DIR is required');
const server = await ClickHouseHttpServer.start(dataDir, Number(process.env['PORT'] ?? 0));
process.stdout.write(`listening ${server.url}\n`);
const stop = (): void => void server.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
