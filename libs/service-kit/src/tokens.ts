/** Injection token of the service's pino logger. */
export const LOGGER = Symbol('LOGGER');
/** Injection token of the service's validated configuration object. */
export const CONFIG = Symbol('CONFIG');
