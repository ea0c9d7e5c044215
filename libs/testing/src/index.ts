export * from './kafka-test-env.js';
export * from './wait-for.js';
export * from './http-client.js';
