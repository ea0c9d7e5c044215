export { ReportsModule, REPORT_CONTROLLERS } from './reports.module.js';
export { ReportQueries } from './report-queries.js';
