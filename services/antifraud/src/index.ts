export * from './config.js';
export * from './antifraud.app.js';
