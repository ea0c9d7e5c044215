export * from './kafka-client.js';
export * from './errors.js';
export * from './event-producer.js';
export * from './batch-consumer.js';
export * from './topic-reader.js';
export * from './topic-admin.js';
export * from './kafka-bus.js';
export * from './replay-watermark.js';
