#!/usr/bin/env bash
# Stops the local broker started by start.sh (SIGTERM: controlled shutdown), waits for it to exit.
set -euo pipefail
source "$(dirname "$0")/../lib/env.sh"
pidfile="$KAFKA_HOME_DIR/broker.pid"
[[ -f $pidfile ]] || { log "no broker pid file in $KAFKA_HOME_DIR"; exit 0; }
pid=$(cat "$pidfile")
if kill -0 "$pid" 2>/dev/null; then
  kill -TERM "$pid"
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  if kill -0 "$pid" 2>/dev/null; then log "broker $pid ignored SIGTERM for 30 s; killing"; kill -KILL "$pid"; fi
  log "kafka broker $pid stopped"
fi
rm -f "$pidfile"
if [[ "${1:-}" == "--wipe" ]]; then rm -rf "$KAFKA_HOME_DIR"; log "wiped $KAFKA_HOME_DIR"; fi
