#!/usr/bin/env bash
# Runs every test: unit tests (*.spec.ts), then integration tests
# (*.int-spec.ts) in one process against one real Kafka broker and one
# embedded ClickHouse engine for the whole run. Installs and starts what it
# needs. Usage: scripts/test.sh [unit|int|all] [path-substring-filter]
# The last line is always "N passed, N failed".
set -uo pipefail
export KAFKA_PORT="${TEST_KAFKA_PORT:-19092}"
unset KAFKA_BROKERS KAFKA_HOME_DIR KAFKA_CONTROLLER_PORT
source "$(dirname "$0")/lib/env.sh"
cd "$ROOT"
what="${1:-all}"
filter="${2:-}"
results="${TEST_RESULTS_DIR:-$ROOT/.cache/test-results}"
rm -rf "$results"; mkdir -p "$results"
export TEST_RESULTS_DIR="$results"


summary() {
  local passed=0 failed=0 n
  for f in "$results"/*.tap; do
    [[ -f $f ]] || continue
    n=$(grep -E '^# pass ' "$f" | tail -1 | awk '{print $3}'); passed=$((passed + ${n:-0}))
    n=$(grep -E '^# fail ' "$f" | tail -1 | awk '{print $3}'); failed=$((failed + ${n:-0}))
    n=$(grep -E '^# cancelled ' "$f" | tail -1 | awk '{print $3}'); failed=$((failed + ${n:-0}))
  done
  failed=$((failed + ${extra_failures:-0}))
  echo "$passed passed, $failed failed"
  [[ $failed -eq 0 && $passed -gt 0 ]]
}
extra_failures=0

# SKIP_SETUP=1: run against what is already built (developers iterating on one package).
if [[ "${SKIP_SETUP:-0}" != 1 ]] && ! bash scripts/setup.sh; then
  log "setup failed"; extra_failures=1; summary; exit 1
fi

find_tests() { # pattern
  find libs services tests -path '*/node_modules' -prune -o -path '*/dist/*' -name "$1" -print | grep -F -- "$filter" | sort
}

run_suite() { # name pattern extra-node-args...
  local name=$1 pattern=$2; shift 2
  mapfile -t files < <(find_tests "$pattern")
  if [[ ${#files[@]} -eq 0 ]]; then log "no $name tests"; return 0; fi
  log "running ${#files[@]} $name test files"
  node --test "$@" --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=tap --test-reporter-destination="$results/$name.tap" "${files[@]}"
  local rc=$?
  if [[ $rc -ne 0 ]] && ! grep -qE '^# fail [1-9]' "$results/$name.tap" 2>/dev/null; then
    # The runner itself failed (crash, syntax error) without reporting a failing test.
    extra_failures=$((extra_failures + 1))
  fi
}

started_kafka=0
# The broker stays up between runs for developers; CI (TEST_STOP_KAFKA=1) stops the one it started.
stop_kafka() { if [[ $started_kafka -eq 1 && "${TEST_STOP_KAFKA:-0}" == 1 ]]; then bash scripts/kafka/stop.sh >/dev/null 2>&1 || true; fi; }
trap stop_kafka EXIT

if [[ $what == unit || $what == all ]]; then
  run_suite unit '*.spec.js' --test-concurrency=2
  if [[ -z $filter ]] && ! node scripts/gen-config-docs.mjs --check; then extra_failures=$((extra_failures + 1)); fi
  if [[ -z $filter ]] && ! node scripts/gen-openapi.mjs --check; then extra_failures=$((extra_failures + 1)); fi
  # Import cycles between source files (libs, services, tests): scripts/check-import-cycles.mjs lists each one.
  if [[ -z $filter ]] && ! node scripts/check-import-cycles.mjs; then extra_failures=$((extra_failures + 1)); fi
  # Formatting (Prettier, .prettierrc.json): `npm run format` fixes what this reports.
  if [[ -z $filter ]] && ! node node_modules/prettier/bin/prettier.cjs --check --log-level warn "**/*.{ts,mts,mjs,js,json}"; then extra_failures=$((extra_failures + 1)); fi
  # No source line over 160 characters: the long strings and comments Prettier does not wrap.
  if [[ -z $filter ]] && ! node scripts/check-line-length.mjs; then extra_failures=$((extra_failures + 1)); fi
  # Lint (eslint.config.mjs: type-checked rules, module boundaries) over the whole repository; the
  # boundary rule reads Nx's project graph, computed first without the daemon.
  if [[ -z $filter ]] && ! { NX_DAEMON=false NX_NO_CLOUD=true node node_modules/nx/bin/nx.js show projects >/dev/null && node node_modules/eslint/bin/eslint.js --max-warnings 0 .; }; then
    extra_failures=$((extra_failures + 1))
  fi
  # The Helm chart: lint and render with checks (builds helm from the Go module proxy the first time).
  if [[ -z $filter ]] && ! bash scripts/check-chart.sh; then extra_failures=$((extra_failures + 1)); fi
  # The Dockerfile (BuildKit's lint) and docker-compose.yml (as `docker compose config` loads it), without Docker.
  if [[ -z $filter ]] && ! bash scripts/check-docker.sh; then extra_failures=$((extra_failures + 1)); fi
fi
if [[ $what == int || $what == all ]]; then
  if ! node scripts/kafka/wait-ready.mjs "$KAFKA_BROKERS" 500 2>/dev/null; then
    if bash scripts/kafka/start.sh; then started_kafka=1; else log "kafka failed to start"; extra_failures=$((extra_failures + 1)); fi
  fi
  export CLICKHOUSE_DATA_DIR="$(mktemp -d "${TMPDIR:-/tmp}/calltrack-chdb.XXXXXX")"
  export CHROMIUM_PATH="${CHROMIUM_PATH:-/usr/bin/chromium}"
  # Every file closes what it opened; --test-force-exit guards CI against a stray handle (a library timer) keeping the process alive after the last test.
  run_suite int '*.int-spec.js' --test-isolation=none --test-concurrency=1 --test-timeout=300000 --test-force-exit
  rm -rf "$CLICKHOUSE_DATA_DIR"
fi
summary
