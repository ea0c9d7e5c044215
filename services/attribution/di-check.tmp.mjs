import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
const { AttributionModule } = await import('./dist/attribution.module.js');
const { loadAttributionConfig } = await import('./dist/config.js');
const logger = { info() {}, warn() {}, error: console.error, debug() {}, child() { return logger; } };
const config = loadAttributionConfig({ ...process.env });
const app = await NestFactory.createApplicationContext(AttributionModule.register(config, logger), { preview: true, abortOnError: false, logger: ['error'] });
console.log('resolved');
for (const name of ['CallPipeline','EnquiryPipeline','CallsConsumer','RecomputeService']) {}
await app.close?.();
