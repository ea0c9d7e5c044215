export { ApiModule, API_CONTROLLERS } from './api.module.js';
export { CONVERSIONS_API_INCLUDE_DIRS, CONVERSIONS_API_PACKAGE, CONVERSIONS_API_PROTO } from './conversions-api.grpc.js';
export { attributionOpenApiDocument } from './openapi-document.js';
