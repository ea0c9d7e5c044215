#!/usr/bin/env bash
# Benchmarks that print figures (never timed assertions). Usage: npm run bench [-- <name>]
#   session-start   session starts per second through session-tracker and number-pool, at rising rates
set -euo pipefail
source "$(dirname "$0")/lib/env.sh"
cd "$ROOT"
bash scripts/setup.sh
bash scripts/kafka/start.sh
case "${1:-session-start}" in
  session-start) exec node scripts/bench/session-start.mjs "${@:2}" ;;
  *) echo "unknown benchmark: $1" >&2; exit 2 ;;
esac
