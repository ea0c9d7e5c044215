export { ReplayModule } from './replay.module.js';
export { RecomputeService } from './recompute.service.js';
export { ReevaluationSweepService } from './reevaluation-sweep.service.js';
