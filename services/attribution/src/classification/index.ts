// What a call is (first or repeat, target, missed and called back, outside hours): pure rules, no providers, so no Nest module.
export * from './call-classification.js';
export * from './working-hours.js';
