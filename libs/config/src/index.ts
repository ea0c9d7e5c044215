export * from './load-config.js';
export * from './common-variables.js';
