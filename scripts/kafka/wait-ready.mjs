// Waits until a Kafka broker answers a metadata request: `node wait-ready.mjs host:port timeoutMs`.
// Uses the project's kafkajs (through libs/kafka would need a build; this runs before one is guaranteed).
import { Kafka, logLevel } from 'kafkajs';
const [brokers = '127.0.0.1:9092', timeoutArg = '60000'] = process.argv.slice(2);
const deadline = Date.now() + Number(timeoutArg);
const kafka = new Kafka({ clientId: 'wait-ready', brokers: brokers.split(','), logLevel: logLevel.NOTHING, retry: { retries: 0 }, connectionTimeout: 1000 });
for (;;) {
  const admin = kafka.admin();
  try {
    await admin.connect();
    await admin.describeCluster();
    await admin.disconnect();
    process.exit(0);
  } catch {
    await admin.disconnect().catch(() => {});
    if (Date.now() > deadline) process.exit(1);
    await new Promise((r) => setTimeout(r, 500));
  }
}
