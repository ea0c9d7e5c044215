#!/usr/bin/env bash
# Runs the whole platform on this machine on the embedded default: installs what
# is missing, starts Kafka, starts the six services (attribution owns the
# embedded ClickHouse engine in .data/clickhouse), plays a short demo (a visit,
# a call, a spam call) and prints where to look. Ctrl-C stops everything.
# `npm run demo -- --exit` stops after the demo instead.
set -euo pipefail
source "$(dirname "$0")/lib/env.sh"
cd "$ROOT"
bash scripts/setup.sh
bash scripts/kafka/start.sh
exec node scripts/demo.mjs "$@"
