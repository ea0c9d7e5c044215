export * from './config.js';
export * from './number-pool.app.js';
export { PoolState } from './pool-state.js';
