export * from './http-errors.js';
export * from './zod-validation.pipe.js';
export * from './readiness.service.js';
export * from './health.controller.js';
export * from './admin-token.guard.js';
export * from './request-tracing.js';
export * from './service-core.module.js';
export * from './service-bootstrap.js';
