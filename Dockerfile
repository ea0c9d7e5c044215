# syntax=docker/dockerfile:1
# One image for the six services; SERVICE (environment variable or build argument) picks
# which one runs. Targets:
#   production (the default, last stage): production dependencies only, without the
#     embedded ClickHouse engine (chdb, 543 MB) — attribution needs CLICKHOUSE_URL.
#   embedded: the same plus chdb (attribution without CLICKHOUSE_URL, on a laptop).
#   demo: production plus the demo player, for docker compose's demo profile.
#   docker build -t calltrack:0.1.0 \
#     --build-arg VERSION=0.1.0 --build-arg REVISION=$(git rev-parse HEAD) \
#     --build-arg SOURCE=https://github.com/<org>/calltrack .
#   docker build --target embedded -t calltrack:0.1.0-embedded .
#   docker run -e SERVICE=number-pool -e ADMIN_TOKEN=… -e KAFKA_BROKERS=… calltrack:0.1.0
# The one-shot topic job runs the same image: node libs/kafka/dist/provision-topics.cli.js
#
# Node is the version the project builds and tests with (package.json devDependency
# "node"). For reproducible builds pin the digest too, e.g.
#   --build-arg NODE_IMAGE=node:24.21.0-bookworm-slim@sha256:<digest of `docker buildx imagetools inspect node:24.21.0-bookworm-slim`>
ARG NODE_IMAGE=node:24.21.0-bookworm-slim

# --- manifests: only the package.json files and the lock, so the installs below are
# re-run when dependencies change, not on every source edit.
FROM ${NODE_IMAGE} AS manifests
WORKDIR /src
COPY . .
RUN mkdir /out \
 && cp package.json package-lock.json nx.json /out/ \
 && find libs services tests -mindepth 2 -maxdepth 2 -name package.json -exec cp --parents {} /out/ \;

# --- build: install everything (dev dependencies included), generate, compile.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
ENV CI=true NX_DAEMON=false NX_NO_CLOUD=true
COPY --from=manifests /out/ ./
# Install scripts must run: the "node" devDependency downloads its Node 24 binary in
# one, and node_modules/.bin/node is first on PATH for npx and npm scripts.
RUN --mount=type=cache,target=/root/.npm \
    npm ci --no-audit --no-fund
COPY tsconfig.base.json tsconfig.json ./
COPY proto proto
COPY scripts/gen-proto.sh scripts/build-tracker.mjs scripts/
COPY libs libs
COPY services services
COPY tests tests
# The browser tracker (esbuild, a dev dependency) lands in session-tracker's dist, which it serves.
RUN bash scripts/gen-proto.sh && npx tsc -b && node scripts/build-tracker.mjs
# The code the services run: compiled libraries (not libs/testing) and services, the
# generated contracts, attribution's migrations and the .proto files its gRPC API loads at run
# time (@grpc/proto-loader); no sources, tests, source maps or declarations.
RUN set -eu; \
    out=/code; \
    for pkg in libs/* services/*; do \
      [ "$pkg" = libs/testing ] && continue; \
      mkdir -p "$out/$pkg"; \
      if [ -d "$pkg/dist" ]; then cp -a "$pkg/dist" "$out/$pkg/"; fi; \
    done; \
    cp -a libs/proto/generated "$out/libs/proto/"; \
    cp -a services/attribution/migrations "$out/services/attribution/"; \
    mkdir -p "$out/proto/calltrack/events/v1"; \
    cp -a proto/calltrack/api "$out/proto/calltrack/"; \
    cp -a proto/calltrack/events/v1/origin.proto "$out/proto/calltrack/events/v1/"; \
    find "$out/libs" "$out/services" -path '*/dist/*' \
      \( -name '*.spec.js' -o -name '*.int-spec.js' -o -name '*.fixture.js' -o -name '*.map' -o -name '*.d.ts' -o -name '.tsbuildinfo' \) -delete; \
    test -f "$out/libs/kafka/dist/provision-topics.cli.js"; \
    for svc in session-tracker number-pool telephony-ingest attribution conversion-export antifraud; do \
      test -f "$out/services/$svc/dist/main.js"; \
    done; \
    test -f "$out/services/session-tracker/dist/tracker.min.js"; \
    mkdir -p /demo/libs/testing; \
    cp -a libs/testing/package.json libs/testing/dist /demo/libs/testing/; \
    find /demo -path '*/dist/*' \( -name '*.spec.js' -o -name '*.int-spec.js' -o -name '*.map' -o -name '*.d.ts' -o -name '.tsbuildinfo' \) -delete

# --- production dependencies of the six services (their workspaces and what they use),
# without dev and optional packages (chdb is optional), tests or install scripts
# (scripts/image/install-deps.sh; scripts/image/measure.sh states the sizes).
FROM ${NODE_IMAGE} AS deps-production
WORKDIR /app
COPY --from=manifests /out/ ./
COPY scripts/image/install-deps.sh /usr/local/bin/
RUN --mount=type=cache,target=/root/.npm install-deps.sh production

# --- the same plus the embedded engine (optional dependencies).
FROM ${NODE_IMAGE} AS deps-embedded
WORKDIR /app
COPY --from=manifests /out/ ./
COPY scripts/image/install-deps.sh /usr/local/bin/
RUN --mount=type=cache,target=/root/.npm install-deps.sh embedded

# --- what both images share.
FROM ${NODE_IMAGE} AS runtime
ARG NODE_IMAGE
ARG VERSION=0.1.0
ARG REVISION=""
ARG SOURCE=""
ARG CREATED=""
LABEL org.opencontainers.image.title="calltrack" \
      org.opencontainers.image.description="calltrack call-tracking platform: one image for its six services (SERVICE picks one)" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.base.name="${NODE_IMAGE}"
ENV NODE_ENV=production \
    NODE_OPTIONS=--disable-warning=TimeoutNegativeWarning
WORKDIR /app
# Code stays root-owned (read-only to the service); only the embedded ClickHouse data
# directory (attribution without CLICKHOUSE_URL, embedded image) is writable.
RUN mkdir -p /app/.data && chown node:node /app/.data
STOPSIGNAL SIGTERM
ENV SERVICE=""
# /healthz on PORT, or on the service's default port when PORT is unset.
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "const d={'session-tracker':8081,'number-pool':8082,'telephony-ingest':8083,attribution:8084,'conversion-export':8085,antifraud:8086};const p=process.env.PORT||d[process.env.SERVICE];fetch('http://127.0.0.1:'+p+'/healthz',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["sh", "-c", "if [ ! -f \"services/${SERVICE}/dist/main.js\" ]; then echo \"SERVICE='${SERVICE}' is not one of: $(ls services | tr '\\n' ' ')\" >&2; exit 64; fi; exec node \"services/${SERVICE}/dist/main.js\""]

# --- embedded: with chdb (docker build --target embedded).
FROM runtime AS embedded
COPY --from=deps-embedded /app/ /app/
COPY --from=build /code/ /app/
USER node
# A default service for a single-service image; compose and the chart set SERVICE per container.
ARG SERVICE=""
ENV SERVICE=${SERVICE}

# --- demo: the production image plus the demo player (scripts/demo.mjs on libs/testing),
# for compose's demo profile (docker compose --profile demo up demo). Not for production.
FROM runtime AS demo
COPY --from=deps-production /app/ /app/
COPY --from=build /code/ /app/
COPY --from=build /demo/ /app/
COPY scripts/demo.mjs scripts/
RUN ln -s ../../libs/testing node_modules/@calltrack/testing
USER node
CMD ["node", "scripts/demo.mjs", "--exit"]

# --- production (default): without chdb.
FROM runtime AS production
COPY --from=deps-production /app/ /app/
COPY --from=build /code/ /app/
USER node
ARG SERVICE=""
ENV SERVICE=${SERVICE}
