# Sourced by every script: the project's Node 24 (from the npm package "node"
# in devDependencies) comes first on PATH; the machine's Node 20 is never used
# to run project code.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export ROOT
export PATH="$ROOT/node_modules/.bin:$PATH"
export NX_DAEMON=false NX_NO_CLOUD=true NX_TUI=false
# Local broker defaults; override with KAFKA_PORT / KAFKA_CONTROLLER_PORT / KAFKA_HOME_DIR.
export KAFKA_VERSION="${KAFKA_VERSION:-3.9.2}"
export KAFKA_PORT="${KAFKA_PORT:-9092}"
export KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-$((KAFKA_PORT + 1))}"
export KAFKA_HOME_DIR="${KAFKA_HOME_DIR:-$ROOT/.cache/kafka-$KAFKA_PORT}"
export KAFKA_LIBS_DIR="${KAFKA_LIBS_DIR:-$ROOT/.cache/kafka-$KAFKA_VERSION/libs}"
export KAFKA_BROKERS="${KAFKA_BROKERS:-127.0.0.1:$KAFKA_PORT}"
log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
# kafkajs 2.2.4 computes a negative timer on Node 24 (harmless); keep the logs clean.
case " ${NODE_OPTIONS:-} " in *TimeoutNegativeWarning*) ;; *) export NODE_OPTIONS="${NODE_OPTIONS:-} --disable-warning=TimeoutNegativeWarning" ;; esac
