export * from './config.js';
export * from './attribution.app.js';
