#!/usr/bin/env bash
# Runs the whole platform on this machine on the embedded default: installs what
# is missing, starts Kafka, starts the six services (attribution owns the
# embedded ClickHouse engine in .data/clickhouse), plays a short demo (a visit,
# a call, a spam call) and prints where to look. Ctrl-C stops everything.
# `npm run demo -- --exit` stops after the demo instead.
# The Kafka broker (a 1 GB Java heap) is stopped at the end when this script started
# it; a broker that was already running is left running, and the way to stop it printed.
set -euo pipefail
source "$(dirname "$0")/lib/env.sh"
cd "$ROOT"
bash scripts/setup.sh
started_broker=true
if node scripts/kafka/wait-ready.mjs "$KAFKA_BROKERS" 1000 2>/dev/null; then started_broker=false; fi
bash scripts/kafka/start.sh

finish() {
  if $started_broker; then
    log "stopping the Kafka broker this demo started"
    bash scripts/kafka/stop.sh
  else
    local how="bash scripts/kafka/stop.sh"
    [[ $KAFKA_PORT == 9092 ]] || how="KAFKA_PORT=$KAFKA_PORT $how"
    log "the Kafka broker on $KAFKA_BROKERS was running before the demo and still is; stop it with: $how"
  fi
}
trap finish EXIT
# Ctrl-C reaches node too (same process group): it drains the services, then finish() runs.
trap ':' INT
node scripts/demo.mjs "$@"
