export { PipelineModule } from './pipeline.module.js';
export { CallPipeline, type AttributedCalls, type FreshReport, type ReevaluationOptions } from './call-pipeline.js';
export { EnquiryPipeline, type FreshEnquiry } from './enquiry-pipeline.js';
export { EvaluationLock } from './evaluation-lock.js';
export { evaluate } from './evaluate.js';
export type { StepResult } from '../step-result.js';
