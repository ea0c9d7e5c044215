#!/usr/bin/env bash
# The image's dependencies without Docker: runs scripts/image/install-deps.sh (what the
# Dockerfile's deps stages run) in temp copies of the manifests and prints the sizes of the
# production dependencies without chdb (the default image) and with it (the embedded target),
# the largest packages, and the size of the compiled code the image adds.
# START_CHECK=1 also assembles the production image's /app tree (dependencies + code as the
# Dockerfile copies them) and starts the topic job and the six services from it against the
# broker at KAFKA_BROKERS (default 127.0.0.1:19092, the test broker) and a ClickHouse HTTP
# test server, waiting until each is ready: the tree lacks nothing they load.
# Needs the npm cache (or the registry) and a build (scripts/build.sh) for the code.
set -euo pipefail
source "$(dirname "$0")/../lib/env.sh"
cd "$ROOT"
work="$(mktemp -d "${TMPDIR:-/tmp}/calltrack-image.XXXXXX")"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

manifests() { # dir
  mkdir -p "$1"
  cp package.json package-lock.json nx.json "$1/"
  find libs services tests -mindepth 2 -maxdepth 2 -name package.json -exec cp --parents {} "$1/" \;
}
mb() { du -sm "$1" | cut -f1; }

for variant in production embedded; do
  manifests "$work/$variant"
  (cd "$work/$variant" && bash "$ROOT/scripts/image/install-deps.sh" "$variant" > "$work/$variant.log" 2>&1) || {
    cat "$work/$variant.log" >&2
    exit 1
  }
done
prod="$work/production/node_modules"
echo "production dependencies (default image, without chdb): $(mb "$prod") MB"
echo "  of which @ip-location-db (DB-IP city database, data for attribution's region reports): $(mb "$prod/@ip-location-db") MB"
echo "  without it: $(($(mb "$prod") - $(mb "$prod/@ip-location-db"))) MB"
echo "embedded dependencies (target embedded, with chdb): $(mb "$work/embedded/node_modules") MB"
echo "largest production packages (MB):"
(cd "$prod" && du -sm -- [!@]* @*/* 2> /dev/null | sort -rn | head -12 | sed 's/^/  /')

# The code the build stage adds (compiled libraries and services, contracts, migrations, .proto).
code="$work/code"
for pkg in libs/* services/*; do
  [[ $pkg == libs/testing ]] && continue
  mkdir -p "$code/$pkg"
  if [[ -d $pkg/dist ]]; then cp -a "$pkg/dist" "$code/$pkg/"; fi
done
cp -a libs/proto/generated "$code/libs/proto/"
cp -a services/attribution/migrations "$code/services/attribution/"
mkdir -p "$code/proto/calltrack/events/v1" && cp -a proto/calltrack/api "$code/proto/calltrack/"
# The gRPC API imports VisitOrigin from the events.
cp -a proto/calltrack/events/v1/origin.proto "$code/proto/calltrack/events/v1/"
find "$code" -path '*/dist/*' \( -name '*.spec.js' -o -name '*.int-spec.js' -o -name '*.fixture.js' -o -name '*.map' -o -name '*.d.ts' -o -name '.tsbuildinfo' \) -delete
echo "compiled code: $(mb "$code") MB"

[[ "${START_CHECK:-0}" == 1 ]] || exit 0
app="$work/app"
cp -a "$work/production/." "$app/"
cp -a "$code/." "$app/"
brokers="${KAFKA_BROKERS_CHECK:-127.0.0.1:19092}"
prefix="imagecheck.$RANDOM$RANDOM."
env_common=(KAFKA_BROKERS="$brokers" KAFKA_TOPIC_PREFIX="$prefix" NODE_ENV=production LOG_LEVEL=warn ADMIN_TOKEN="image-check-admin-token-0123456789")
echo "start check: the production tree in $app, broker $brokers, prefix $prefix"
(cd "$app" && env "${env_common[@]}" node libs/kafka/dist/provision-topics.cli.js > "$work/topics.log" 2>&1) || {
  cat "$work/topics.log" >&2
  exit 1
}
chport=$((20000 + RANDOM % 10000))
node libs/testing/dist/clickhouse-http-server.cli.js --data-dir "$work/clickhouse" --port "$chport" > "$work/clickhouse.log" 2>&1 &
pids+=($!)
declare -A ports=([session-tracker]=0 [number-pool]=0 [telephony-ingest]=0 [attribution]=0 [conversion-export]=0 [antifraud]=0)
for svc in "${!ports[@]}"; do
  port=$((30000 + RANDOM % 20000))
  ports[$svc]=$port
  (cd "$app" && exec env "${env_common[@]}" SERVICE="$svc" PORT="$port" HTTP_HOST=127.0.0.1 CLICKHOUSE_URL="http://127.0.0.1:$chport" \
    CLICKHOUSE_DATABASE=image_check sh -c 'exec node "services/${SERVICE}/dist/main.js"' > "$work/$svc.log" 2>&1) &
  pids+=($!)
done
failed=0
for svc in "${!ports[@]}"; do
  if node -e "const u='http://127.0.0.1:${ports[$svc]}/readyz';const end=Date.now()+180000;(async()=>{for(;;){const r=await fetch(u).catch(()=>undefined);if(r?.status===200)process.exit(0);if(Date.now()>end)process.exit(1);await new Promise(r=>setTimeout(r,250));}})()"; then
    echo "  ready: $svc"
  else
    echo "  NOT ready: $svc (log follows)"
    tail -20 "$work/$svc.log"
    failed=1
  fi
done
exit $failed
