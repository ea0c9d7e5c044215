#!/usr/bin/env bash
# Resolves Apache Kafka (broker, KRaft) and its runtime jars from Maven Central
# with Maven and caches them in .cache/kafka-<version>/libs.
set -euo pipefail
source "$(dirname "$0")/../lib/env.sh"
if [[ -f "$KAFKA_LIBS_DIR/kafka_2.13-$KAFKA_VERSION.jar" ]]; then exit 0; fi
log "fetching Apache Kafka $KAFKA_VERSION from Maven Central"
mkdir -p "$KAFKA_LIBS_DIR"
mvn -q -B -f "$ROOT/deploy/kafka/pom.xml" -Dkafka.version="$KAFKA_VERSION" \
  dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$KAFKA_LIBS_DIR"
log "kafka jars in $KAFKA_LIBS_DIR ($(ls "$KAFKA_LIBS_DIR" | wc -l) files)"
