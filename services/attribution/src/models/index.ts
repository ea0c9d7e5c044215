export { ModelsModule } from './models.module.js';
export { MarkovModelService } from './markov-model.service.js';
export * from './attribution-models.js';
export * from './call-credits.js';
