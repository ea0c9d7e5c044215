# One image recipe for the six services; the SERVICE build argument (or environment
# variable) picks which one runs.
#   docker build --build-arg SERVICE=number-pool -t calltrack-number-pool .
#   docker run -e ADMIN_TOKEN=… -e KAFKA_BROKERS=… calltrack-number-pool
# The one-shot topic job runs the same image: node libs/kafka/dist/provision-topics.cli.js

# --- manifests: only the package.json files and the lock, so `npm ci` below is
# re-run when dependencies change, not on every source edit.
FROM node:24-bookworm-slim AS manifests
WORKDIR /src
COPY . .
RUN mkdir /out \
 && cp package.json package-lock.json nx.json /out/ \
 && find libs services tests -mindepth 2 -maxdepth 2 -name package.json -exec cp --parents {} /out/ \;

# --- build: install everything (dev dependencies included), generate, compile, prune.
FROM node:24-bookworm-slim AS build
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
# typescript, the "node" package and the other dev tools go; the runtime image has Node 24.
RUN npm prune --omit=dev --no-audit --no-fund
# The runtime tree: compiled code, manifests (and any workspace-local node_modules
# npm placed for a version conflict), the generated contracts, attribution's
# migrations and the .proto its gRPC API loads at run time (@grpc/proto-loader); no
# sources, tests, source maps or declarations. Links to workspaces that are not
# shipped (tests/e2e) are dropped rather than left dangling.
RUN set -eu; \
    out=/runtime; \
    mkdir -p "$out"; \
    cp -a package.json node_modules "$out/"; \
    for pkg in libs/* services/*; do \
      mkdir -p "$out/$pkg"; \
      cp -a "$pkg/package.json" "$out/$pkg/"; \
      for part in dist node_modules; do \
        if [ -d "$pkg/$part" ]; then cp -a "$pkg/$part" "$out/$pkg/"; fi; \
      done; \
    done; \
    cp -a libs/proto/generated "$out/libs/proto/"; \
    cp -a services/attribution/migrations "$out/services/attribution/"; \
    mkdir -p "$out/proto/calltrack"; \
    cp -a proto/calltrack/api "$out/proto/calltrack/"; \
    find "$out/libs" "$out/services" -path '*/dist/*' \
      \( -name '*.spec.js' -o -name '*.int-spec.js' -o -name '*.map' -o -name '*.d.ts' -o -name '.tsbuildinfo' \) -delete; \
    find "$out/node_modules" -xtype l -delete; \
    test -f "$out/libs/kafka/dist/provision-topics.cli.js"; \
    for svc in session-tracker number-pool telephony-ingest attribution conversion-export antifraud; do \
      test -f "$out/services/$svc/dist/main.js"; \
    done; \
    test -f "$out/services/session-tracker/dist/tracker.min.js"

# --- runtime
FROM node:24-bookworm-slim
ENV NODE_ENV=production \
    NODE_OPTIONS=--disable-warning=TimeoutNegativeWarning
WORKDIR /app
COPY --from=build /runtime/ /app/
# Code stays root-owned (read-only to the service); only the embedded ClickHouse data
# directory (attribution without CLICKHOUSE_URL) is writable.
RUN mkdir -p /app/.data && chown node:node /app/.data
USER node
STOPSIGNAL SIGTERM
# Last, so the six service images share every layer above.
ARG SERVICE=""
ENV SERVICE=${SERVICE}
# /healthz on PORT, or on the service's default port when PORT is unset.
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "const d={'session-tracker':8081,'number-pool':8082,'telephony-ingest':8083,attribution:8084,'conversion-export':8085,antifraud:8086};const p=process.env.PORT||d[process.env.SERVICE];fetch('http://127.0.0.1:'+p+'/healthz',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["sh", "-c", "if [ ! -f \"services/${SERVICE}/dist/main.js\" ]; then echo \"SERVICE='${SERVICE}' is not one of: $(ls services | tr '\\n' ' ')\" >&2; exit 64; fi; exec node \"services/${SERVICE}/dist/main.js\""]
