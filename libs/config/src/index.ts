export * from './load-config.js';
export * from './common-variables.js';
export * from './kafka-security.js';
