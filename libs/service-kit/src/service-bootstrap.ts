import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { LoggerService, DynamicModule } from '@nestjs/common';
import { createLogger, initMetrics, initTelemetry, shutdownTelemetry, type Logger } from '@calltrack/telemetry';
import { installHttpMetrics } from './http-metrics.js';
import { JsonExceptionFilter } from './http-errors.js';
import { installRequestTracing } from './request-tracing.js';
import { installSecurityHeaders } from './security-headers.js';
import { ReadinessService } from './readiness.service.js';

class PinoNestLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}
  log(message: unknown, context?: string): void {
    this.logger.info({ event: 'nest', context }, String(message));
  }
  error(message: unknown, trace?: string, context?: string): void {
    this.logger.error({ event: 'nest', context, trace }, String(message));
  }
  warn(message: unknown, context?: string): void {
    this.logger.warn({ event: 'nest', context }, String(message));
  }
  debug(message: unknown, context?: string): void {
    this.logger.debug({ event: 'nest', context }, String(message));
  }
  verbose(message: unknown, context?: string): void {
    this.logger.trace({ event: 'nest', context }, String(message));
  }
}

export interface StartServiceOptions {
  name: string;
  module: DynamicModule;
  logger: Logger;
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  /** Largest accepted request body; larger ones get 413. */
  bodyLimitBytes?: number;
  /** Public endpoints called from any site's pages (the tracker script) allow every origin. */
  cors?: boolean;
  /** Fastify trustProxy, from HTTP_TRUST_PROXY: who may tell us the client's address. Default: nobody. */
  trustProxy?: string;
  /** Runs before the HTTP server listens: connect and start other transports (gRPC) here. */
  beforeListen?: (app: NestFastifyApplication) => Promise<void>;
}

/**
 * Which peers may set X-Forwarded-For/-Proto/-Host: none unless configured, so a
 * client cannot choose the address its rate limits and pool share are counted
 * under. "true" (trust any peer) is refused at start-up by the configuration.
 */
export function trustProxyOption(value: string | undefined): false | string[] {
  const list = (value ?? '')
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);
  if (list.length === 0 || (list.length === 1 && (list[0] === 'false' || list[0] === 'none'))) return false;
  return list;
}

export interface RunningService {
  app: NestFastifyApplication;
  url: string;
  close(): Promise<void>;
}

/** Builds and starts a service: Nest on Fastify, JSON errors, request tracing, health endpoints. */
export async function startService(options: StartServiceOptions): Promise<RunningService> {
  // Before the module is built: libraries define their metrics while it is.
  initMetrics(options.name);
  // Route parameters carry provider call ids ("<provider>:<id>", up to ~140 characters); Fastify's default limit is 100.
  const adapter = new FastifyAdapter({
    bodyLimit: options.bodyLimitBytes ?? 64 * 1024,
    trustProxy: trustProxyOption(options.trustProxy),
    routerOptions: { maxParamLength: 512 },
  });
  const app = await NestFactory.create<NestFastifyApplication>(options.module, adapter, {
    logger: new PinoNestLogger(options.logger),
    rawBody: true,
    abortOnError: false,
  });
  try {
    return await listen(app, options);
  } catch (err) {
    // A half-started app still holds Kafka connections and timers: release them before failing.
    await app.close().catch(() => undefined);
    throw err;
  }
}

async function listen(app: NestFastifyApplication, options: StartServiceOptions): Promise<RunningService> {
  const fastify = app.getHttpAdapter().getInstance();
  // JSON APIs only: a text/plain body is refused with 415 instead of reaching validation as a string.
  fastify.removeContentTypeParser('text/plain');
  installRequestTracing(fastify, options.name);
  installHttpMetrics(fastify);
  installSecurityHeaders(fastify);
  app.useGlobalFilters(new JsonExceptionFilter(options.logger));
  if (options.cors) app.enableCors({ origin: true, methods: ['GET', 'POST', 'OPTIONS'], maxAge: 86_400 });
  await options.beforeListen?.(app);
  await app.listen({ port: options.port, host: options.host });
  const address = fastify.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const url = `http://127.0.0.1:${port}`;
  options.logger.info({ event: 'service_started', url });
  return {
    app,
    url,
    close: async () => {
      app.get(ReadinessService).markShuttingDown();
      await app.close();
      options.logger.info({ event: 'service_stopped' });
    },
  };
}

/**
 * Process entry point: starts the service, and on SIGTERM/SIGINT shuts it down
 * gracefully (stop HTTP, drain consumers, flush the producer, flush traces)
 * within timeoutMs, after which the process exits anyway.
 */
export function runMain(name: string, start: () => Promise<RunningService>, logger: Logger, timeoutMs: number): void {
  let running: RunningService | undefined;
  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info({ event: 'shutdown_requested', signal });
    const timer = setTimeout(() => {
      logger.error({ event: 'shutdown_timed_out', timeoutMs });
      process.exit(1);
    }, timeoutMs);
    timer.unref();
    try {
      await running?.close();
      await shutdownTelemetry();
      process.exit(0);
    } catch (err) {
      logger.error({ event: 'shutdown_failed', err });
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  start()
    .then((s) => {
      running = s;
      if (stopping) void s.close();
    })
    .catch((err: unknown) => {
      logger.fatal({ event: 'service_start_failed', service: name, err });
      process.exit(1);
    });
}

/**
 * The usual start of a service: telemetry, a logger at the configured level, and
 * startService on the configured host and port.
 */
export async function bootService(options: {
  name: string;
  config: { LOG_LEVEL: string; HTTP_HOST: string; HTTP_TRUST_PROXY?: string; PORT: number };
  module: (logger: Logger) => DynamicModule;
  bodyLimitBytes?: number;
  cors?: boolean;
  beforeListen?: (app: NestFastifyApplication) => Promise<void>;
}): Promise<RunningService> {
  initTelemetry({ serviceName: options.name });
  const logger = createLogger(options.name, options.config.LOG_LEVEL);
  return startService({
    name: options.name,
    module: options.module(logger),
    logger,
    host: options.config.HTTP_HOST,
    port: options.config.PORT,
    ...(options.config.HTTP_TRUST_PROXY === undefined ? {} : { trustProxy: options.config.HTTP_TRUST_PROXY }),
    ...(options.bodyLimitBytes === undefined ? {} : { bodyLimitBytes: options.bodyLimitBytes }),
    ...(options.cors === undefined ? {} : { cors: options.cors }),
    ...(options.beforeListen ? { beforeListen: options.beforeListen } : {}),
  });
}
