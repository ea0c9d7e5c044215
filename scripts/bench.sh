#!/usr/bin/env bash
# Benchmarks that print figures (never timed assertions). Usage: npm run bench [-- <name>]
#   session-start          session starts per second through session-tracker and number-pool, at rising rates
#   attribution-recompute  how long recomputing a site's history takes per million calls (BENCH_CALLS, default 200000)
#   attribution-throughput calls per second from the calls topic to final ClickHouse rows (BENCH_CALLS, default 20000)
#   call-to-row            delay from a call's end webhook to its final row, p50/p99 (BENCH_RATE 20/s, BENCH_SECONDS 60)
#   report-latency         every report over a synthetic history in the embedded engine (BENCH_VISITS, default 10000000)
#   pool-recovery          number-pool's time to ready after SIGKILL over a year of leases, without and with snapshots
#                          (BENCH_DAYS 365, BENCH_VISITS_PER_DAY 1200, BENCH_POOL_SIZE 50, BENCH_TAIL 20000, BENCH_RUNS 3);
#                          run it on a broker of its own: KAFKA_PORT=19892 npm run bench -- pool-recovery
#   attribution-start      attribution's time to ready and memory (RSS) in its own process, server mode (CLICKHOUSE_URL:
#                          the test server of the ClickHouse HTTP interface) and embedded (BENCH_MODES, BENCH_RUNS 3)
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
  pool-recovery) exec node scripts/bench/pool-recovery.mjs "${@:2}" ;;
  attribution-start) exec node scripts/bench/attribution-start.mjs "${@:2}" ;;
  *) echo "unknown benchmark: $1" >&2; exit 2 ;;
esac
