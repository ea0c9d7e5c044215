# One image for the six services; SERVICE picks which one runs.
#   docker build -t calltrack .
#   docker run -e SERVICE=number-pool -e ADMIN_TOKEN=… calltrack
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json nx.json tsconfig.base.json tsconfig.json ./
COPY libs libs
COPY services services
COPY tests tests
COPY proto proto
COPY scripts scripts
# The image's own Node 24 runs everything; the "node" devDependency (Node 24 for machines
# whose system Node is older) is pruned with the other devDependencies.
RUN npm ci --no-audit --no-fund \
 && bash scripts/gen-proto.sh \
 && node_modules/.bin/tsc -b \
 && npm prune --omit=dev --no-audit --no-fund \
 && rm -rf tests libs/*/src services/*/src

FROM node:24-bookworm-slim
ENV NODE_ENV=production \
    NODE_OPTIONS=--disable-warning=TimeoutNegativeWarning \
    HTTP_HOST=0.0.0.0
WORKDIR /app
COPY --from=build --chown=node:node /app /app
USER node
ARG SERVICE=session-tracker
ENV SERVICE=${SERVICE}
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["sh", "-c", "exec node services/${SERVICE}/dist/main.js"]
