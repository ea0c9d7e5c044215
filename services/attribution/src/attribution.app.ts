import { Transport, type MicroserviceOptions } from '@nestjs/microservices';
import { bootService, type RunningService } from '@calltrack/service-kit';
import { AttributionModule } from './attribution.module.js';
import { SERVICE_NAME, type AttributionConfig } from './config.js';
import { CONVERSIONS_API_INCLUDE_DIRS, CONVERSIONS_API_PACKAGE, CONVERSIONS_API_PROTO } from './api/index.js';

/** Starts attribution in this process (main.ts, the one-process embedded mode, tests). */
export async function startAttribution(config: AttributionConfig): Promise<RunningService> {
  return bootService({
    name: SERVICE_NAME,
    config,
    module: (logger) => AttributionModule.register(config, logger),
    // Ad-cost imports carry up to 20 000 rows (docs/reports.md); everything else is small.
    bodyLimitBytes: 4 * 1024 * 1024,
    // The gRPC API for bid managers is served only when a token is configured.
    ...(config.GRPC_API_TOKEN
      ? {
          beforeListen: async (app) => {
            app.connectMicroservice<MicroserviceOptions>(
              {
                transport: Transport.GRPC,
                options: {
                  package: CONVERSIONS_API_PACKAGE,
                  protoPath: CONVERSIONS_API_PROTO,
                  url: `${config.HTTP_HOST}:${config.GRPC_PORT}`,
                  loader: { longs: Number, defaults: true, includeDirs: CONVERSIONS_API_INCLUDE_DIRS },
                },
              },
              // Not inheritAppConfig: the app's JSON exception filter speaks HTTP, and gRPC
              // errors must keep their status codes (RpcException { code, message }).
            );
            await app.startAllMicroservices();
          },
        }
      : {}),
  });
}
