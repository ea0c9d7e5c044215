#!/usr/bin/env bash
# Benchmarks that print figures (never timed assertions). Usage: npm run bench [-- <name>]
#   session-start          session starts per second through session-tracker and number-pool, at rising rates
#   attribution-recompute  how long recomputing a site's history takes per million calls (BENCH_CALLS, default 200000)
set -euo pipefail
source "$(dirname "$0")/lib/env.sh"
cd "$ROOT"
bash scripts/setup.sh
bash scripts/kafka/start.sh
case "${1:-session-start}" in
  session-start) exec node scripts/bench/session-start.mjs "${@:2}" ;;
  attribution-recompute) exec node scripts/bench/attribution-recompute.mjs "${@:2}" ;;
  *) echo "unknown benchmark: $1" >&2; exit 2 ;;
esac
