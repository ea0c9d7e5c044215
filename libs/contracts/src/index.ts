export * from './topic-registry.js';
export * from './event-codec.js';
export * from './keys.js';
export { calltrack } from '@calltrack/proto';
export * from './event-labels.js';
export * from './channel-classification.js';
export * from './bot-detection.js';
export * from './tracking-rules.js';
export * from './writer-fence.js';
