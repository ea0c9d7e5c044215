#!/usr/bin/env bash
# Starts a single-node KRaft broker on loopback (KAFKA_PORT, default 9092), waits
# until it answers, then creates the topics of the registry. Idempotent: a broker
# already answering on the port is reused.
set -euo pipefail
source "$(dirname "$0")/../lib/env.sh"
bash "$ROOT/scripts/kafka/fetch.sh"
home="$KAFKA_HOME_DIR"
mkdir -p "$home"
if node "$ROOT/scripts/kafka/wait-ready.mjs" "$KAFKA_BROKERS" 1000 2>/dev/null; then
  log "kafka already answering on $KAFKA_BROKERS"
else
  sed -e "s#@PORT@#$KAFKA_PORT#g" -e "s#@CONTROLLER_PORT@#$KAFKA_CONTROLLER_PORT#g" -e "s#@DATA_DIR@#$home/data#g" \
    "$ROOT/deploy/kafka/server.properties" > "$home/server.properties"
  classpath="$KAFKA_LIBS_DIR/*"
  log4j="-Dlog4j.configuration=file:$ROOT/deploy/kafka/log4j.properties"
  if [[ ! -f "$home/data/meta.properties" ]]; then
    cluster_id=$(java -cp "$classpath" $log4j kafka.tools.StorageTool random-uuid)
    java -cp "$classpath" $log4j kafka.tools.StorageTool format -t "$cluster_id" -c "$home/server.properties" >/dev/null
    log "formatted KRaft storage in $home/data (cluster $cluster_id)"
  fi
  # setsid: the broker outlives this script and is stopped by stop.sh through its pid file.
  setsid java ${KAFKA_HEAP_OPTS:--Xms256m -Xmx1g} -XX:+UseG1GC -Xlog:gc*,safepoint:file="$home/gc.log":time,uptime,level,tags:filecount=2,filesize=20m -Djava.awt.headless=true $log4j \
    -cp "$classpath" kafka.Kafka "$home/server.properties" > "$home/broker.log" 2>&1 < /dev/null &
  echo $! > "$home/broker.pid"
  if ! node "$ROOT/scripts/kafka/wait-ready.mjs" "$KAFKA_BROKERS" 60000; then
    log "kafka did not become ready; last log lines:"; tail -n 30 "$home/broker.log" >&2; exit 1
  fi
  log "kafka $KAFKA_VERSION ready on $KAFKA_BROKERS (pid $(cat "$home/broker.pid"), log $home/broker.log)"
fi
node "$ROOT/libs/kafka/dist/provision-topics.cli.js"
