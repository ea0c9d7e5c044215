import { Global, Inject, Module, type DynamicModule, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { KafkaBus, kafkaSettingsFromConfig, type KafkaSettings } from '@calltrack/kafka';
import type { Logger } from '@calltrack/telemetry';
import { HealthController } from './health.controller.js';
import { MetricsController } from './metrics.controller.js';
import { ReadinessService } from './readiness.service.js';
import { RateLimits } from './rate-limits.js';
import { RefusalLog } from './refusal-log.js';
import { CONFIG, LOGGER } from './tokens.js';

export { CONFIG, LOGGER };

export interface ServiceCoreOptions {
  name: string;
  logger: Logger;
  /** The service's validated configuration, with the common KAFKA_* variables. */
  config: Parameters<typeof kafkaSettingsFromConfig>[1];
  /** Overrides the Kafka settings derived from config. */
  kafka?: KafkaSettings;
}

class KafkaLifecycle implements OnModuleInit, OnApplicationShutdown {
  constructor(
    private readonly bus: KafkaBus,
    private readonly readiness: ReadinessService,
  ) {}

  async onModuleInit(): Promise<void> {
    // The producer is connected before any controller takes a request.
    await this.bus.connect();
    this.readiness.register('kafka', () => this.bus.isReady());
    // A consumer that crashed and could not be restarted: only a new process brings it back.
    this.readiness.registerLiveness('kafka_consumers', () => this.bus.isLive());
  }

  async onApplicationShutdown(): Promise<void> {
    // Runs after the HTTP server stopped taking requests: drain consumers, then flush the producer.
    await this.bus.close();
  }
}

/** Logger, configuration, Kafka and health endpoints: what every service module imports first. */
@Global()
@Module({})
export class ServiceCoreModule {
  static forRoot(options: ServiceCoreOptions): DynamicModule {
    return {
      module: ServiceCoreModule,
      controllers: [HealthController, MetricsController],
      providers: [
        { provide: LOGGER, useValue: options.logger },
        { provide: CONFIG, useValue: options.config },
        { provide: KafkaBus, useFactory: () => new KafkaBus(options.kafka ?? kafkaSettingsFromConfig(options.name, options.config), options.logger) },
        ReadinessService,
        // One refusal log and one set of rate-limit counters per service, shared by every guard.
        { provide: RefusalLog, useFactory: () => new RefusalLog(options.logger) },
        { provide: RateLimits, useFactory: (refusals: RefusalLog) => new RateLimits(refusals), inject: [RefusalLog] },
        { provide: KafkaLifecycle, useFactory: (bus: KafkaBus, r: ReadinessService) => new KafkaLifecycle(bus, r), inject: [KafkaBus, ReadinessService] },
      ],
      exports: [LOGGER, CONFIG, KafkaBus, ReadinessService, RefusalLog, RateLimits],
    };
  }
}

export const InjectLogger = (): ParameterDecorator => Inject(LOGGER);
export const InjectConfig = (): ParameterDecorator => Inject(CONFIG);
