export * from './config.js';
export * from './conversion-export.app.js';
