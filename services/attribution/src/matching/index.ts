// Where a call came from (lease, static number, promo code, repeat caller): pure rules, no providers, so no Nest module.
export * from './call-matching.js';
