export * from './config.js';
export * from './session-tracker.app.js';
export { parseLandingPage } from './landing-page.js';
