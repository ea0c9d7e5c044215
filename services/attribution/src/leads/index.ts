export { LeadsModule } from './leads.module.js';
export { LeadProjection } from './lead-projection.js';
export * from './lead-grouping.js';
