export * from './tracing.js';
export * from './logger.js';
export * from './metrics.js';
