#!/usr/bin/env bash
# Benchmarks that print figures (never timed assertions). Usage: npm run bench [-- <name>]
#   session-start          session starts per second through session-tracker and number-pool, at rising rates
#   attribution-recompute  how long recomputing a site's history takes per million calls (BENCH_CALLS, default 200000)
#   attribution-throughput calls per second from the calls topic to final ClickHouse rows (BENCH_CALLS, default 20000)
#   call-to-row            delay from a call's end webhook to its final row, p50/p99 (BENCH_RATE 20/s, BENCH_SECONDS 60)
#   report-latency         every report over a synthetic history in the embedded engine (BENCH_VISITS, default 10000000)
set -euo pipefail
source "$(dirname "$0")/lib/env.sh"
cd "$ROOT"
bash scripts/setup.sh
bash scripts/kafka/start.sh
case "${1:-session-start}" in
  session-start) exec node scripts/bench/session-start.mjs "${@:2}" ;;
  attribution-recompute) exec node scripts/bench/attribution-recompute.mjs "${@:2}" ;;
  attribution-throughput) exec node scripts/bench/attribution-throughput.mjs "${@:2}" ;;
  call-to-row) exec node scripts/bench/call-to-row.mjs "${@:2}" ;;
  report-latency) exec node scripts/bench/report-latency.mjs "${@:2}" ;;
  *) echo "unknown benchmark: $1" >&2; exit 2 ;;
esac
