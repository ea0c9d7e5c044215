export * from './kafka-test-env.js';
export * from './wait-for.js';
export * from './http-client.js';
export * from './service-process.js';
export * from './conversion-receiver.js';
export * from './webhook-signing.js';
export * from './lease-ledger.js';
export * from './kafka-outage-proxy.js';
