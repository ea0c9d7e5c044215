#!/usr/bin/env bash
# Checks the Helm chart in charts/calltrack without a cluster:
#   helm lint (defaults, and --strict with ci/test-values.yaml), helm template of the
#   required values only and of ci/test-values.yaml with checks of what it renders,
#   required values failing with their message when missing, the values schema refusing
#   a misspelt variable, and every variable of docs/configuration.md being documented in
#   the chart's README and settable through the schema.
# Helm: the one on PATH, else .cache/bin/helm, else built from the Go module proxy into
# .cache/bin (HELM_VERSION, default v3.16.4; needs Go; a few minutes on 2 cores).
# Ends with "check-chart: OK" (exit 0) or "check-chart: FAIL (…)" (exit 1).
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
CHART=charts/calltrack
CI_VALUES="$CHART/ci/test-values.yaml"
HELM_VERSION="${HELM_VERSION:-v3.16.4}"
# Kubernetes version the checks render for (Capabilities and deprecation checks).
KUBE_VERSION="${KUBE_VERSION:-1.31.0}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

failures=()
fail() { failures+=("$1"); echo "  FAIL: $1"; }
pass() { echo "  ok: $1"; }
step() { echo "== $1"; }

# --- helm ----------------------------------------------------------------------------
step "helm"
if command -v helm > /dev/null 2>&1; then
  HELM="$(command -v helm)"
elif [ -x .cache/bin/helm ]; then
  HELM="$ROOT/.cache/bin/helm"
else
  if ! command -v go > /dev/null 2>&1; then
    echo "check-chart: FAIL (helm is not on PATH and Go is not installed to build it)"
    exit 1
  fi
  echo "  building helm $HELM_VERSION from the Go module proxy into .cache/bin (a few minutes) …"
  mkdir -p .cache/bin
  started=$SECONDS
  # The ldflags are those of Helm's Makefile: the version it reports and the Kubernetes
  # version of its client libraries (1.31 for 3.16), used when no cluster is asked.
  if ! CGO_ENABLED=0 GOBIN="$ROOT/.cache/bin" go install -trimpath -ldflags "-s -w \
      -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION \
      -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=31 \
      -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=31" \
      "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"; then
    echo "check-chart: FAIL (could not build helm $HELM_VERSION)"
    exit 1
  fi
  echo "  built in $((SECONDS - started)) s"
  HELM="$ROOT/.cache/bin/helm"
fi
echo "  $HELM: $("$HELM" version --short 2>/dev/null)"

# --- lint ----------------------------------------------------------------------------
step "helm lint"
if "$HELM" lint "$CHART" --kube-version "$KUBE_VERSION" > "$WORK/lint-default.txt" 2>&1; then
  pass "helm lint $CHART (defaults)"
else
  cat "$WORK/lint-default.txt"; fail "helm lint $CHART (defaults)"
fi
if "$HELM" lint --strict "$CHART" -f "$CI_VALUES" --kube-version "$KUBE_VERSION" > "$WORK/lint-ci.txt" 2>&1; then
  pass "helm lint --strict -f ci/test-values.yaml"
else
  cat "$WORK/lint-ci.txt"; fail "helm lint --strict -f ci/test-values.yaml"
fi

render() { "$HELM" template calltrack "$CHART" --namespace calltrack --kube-version "$KUBE_VERSION" "$@"; }

# --- template: required values only ----------------------------------------------------
step "helm template (required values only)"
R_IMAGE=(--set image.repository=registry.example.com/calltrack)
R_BROKERS=(--set kafka.brokers=kafka:9092)
R_CLICKHOUSE=(--set clickhouse.url=http://clickhouse:8123)
R_ADMIN=(--set secrets.adminToken=0123456789abcdef0123456789)
MIN=("${R_IMAGE[@]}" "${R_BROKERS[@]}" "${R_CLICKHOUSE[@]}" "${R_ADMIN[@]}")
if render "${MIN[@]}" > "$WORK/min.yaml" 2> "$WORK/min.err"; then
  pass "renders with image.repository, kafka.brokers, clickhouse.url, secrets.adminToken"
else
  cat "$WORK/min.err"; fail "template with the required values only"
fi

# --- template: ci/test-values.yaml -----------------------------------------------------
step "helm template -f ci/test-values.yaml"
if render -f "$CI_VALUES" > "$WORK/ci.yaml" 2> "$WORK/ci.err"; then
  pass "renders ($(grep -c '^kind:' "$WORK/ci.yaml") objects)"
else
  cat "$WORK/ci.err"; fail "template -f ci/test-values.yaml"
  : > "$WORK/ci.yaml"
fi
count() { grep -c -E "$1" "$2" || true; }
expect() { # description, expected count, regex, file
  local n; n=$(count "$3" "$4")
  if [ "$n" = "$2" ]; then pass "$1 ($n)"; else fail "$1: expected $2, found $n"; fi
}
F="$WORK/ci.yaml"
expect "Deployments" 6 '^kind: Deployment$' "$F"
expect "Services" 6 '^kind: Service$' "$F"
expect "ConfigMaps" 6 '^kind: ConfigMap$' "$F"
expect "Secrets (release + topic-job and migrations-job hooks)" 3 '^kind: Secret$' "$F"
expect "topic and migrations Jobs" 2 '^kind: Job$' "$F"
expect "hook annotations (2 Jobs + their Secrets)" 4 'helm.sh/hook: pre-install,pre-upgrade' "$F"
expect "provisioning CLI command" 1 'command: \["node", "libs/kafka/dist/provision-topics.cli.js"\]' "$F"
expect "migrations command" 1 'command: \["node", "services/attribution/dist/migrate.js"\]' "$F"
expect "migrations Job after the topics Job (hook weights 0 and 5)" 1 'helm.sh/hook-weight: "5"' "$F"
expect "attribution waits for the Job's schema" 1 'CLICKHOUSE_MIGRATE: "wait"' "$F"
expect "SASL password as a variable from a Secret (6 services + topics Job)" 7 'key: KAFKA_SASL_PASSWORD$' "$F"
expect "Ingresses" 2 '^kind: Ingress$' "$F"
expect "HPAs (session-tracker)" 1 '^kind: HorizontalPodAutoscaler$' "$F"
expect "PodDisruptionBudgets" 6 '^kind: PodDisruptionBudget$' "$F"
expect "NetworkPolicies" 6 '^kind: NetworkPolicy$' "$F"
expect "ServiceAccount" 1 '^kind: ServiceAccount$' "$F"
expect "liveness/startup probes on /healthz" 12 'httpGet: \{ path: /healthz, port: http \}' "$F"
expect "readiness probes on /readyz" 6 'httpGet: \{ path: /readyz, port: http \}' "$F"
expect "read-only root filesystems (6 services + 2 jobs)" 8 'readOnlyRootFilesystem: true' "$F"
expect "runAsNonRoot pods" 8 'runAsNonRoot: true' "$F"
expect "preStop hooks" 6 'command: \["sleep", "5"\]' "$F"
expect "terminationGracePeriodSeconds 40 (5 + 25 + 10)" 6 'terminationGracePeriodSeconds: 40$' "$F"
expect "attribution's CLICKHOUSE_URL" 1 'CLICKHOUSE_URL: "https://' "$F"
expect "gRPC container port" 1 'containerPort: 9084' "$F"
expect "OTLP endpoint in every ConfigMap" 6 'OTEL_EXPORTER_OTLP_ENDPOINT: "http://otel-collector' "$F"
for svc in session-tracker number-pool telephony-ingest attribution conversion-export antifraud; do
  expect "SERVICE=$svc" 1 "^              value: $svc\$" "$F"
done
expect "ADMIN_TOKEN references (5 admin services)" 5 'key: ADMIN_TOKEN$' "$F"
if grep -q 'CLICKHOUSE_DATA_DIR' "$F"; then fail "CLICKHOUSE_DATA_DIR rendered (embedded engine)"; else pass "no embedded ClickHouse settings"; fi

# --- existingSecret ------------------------------------------------------------------
step "secrets.existingSecret"
if render "${MIN[@]}" --set secrets.adminToken= --set secrets.existingSecret=calltrack-secrets > "$WORK/ext.yaml" 2> "$WORK/ext.err"; then
  if grep -q '^kind: Secret$' "$WORK/ext.yaml"; then fail "a Secret is rendered with existingSecret"; else pass "no Secret rendered"; fi
  expect "references to the existing Secret" 5 'key: ADMIN_TOKEN$' "$WORK/ext.yaml"
else
  cat "$WORK/ext.err"; fail "template with secrets.existingSecret"
fi

# --- Kafka TLS and SASL files -----------------------------------------------------------
step "Kafka mTLS and SASL password as files"
if render "${MIN[@]}" --set kafka.ssl=true --set kafka.tls.caSecret=kafka-cluster-ca --set kafka.tls.clientSecret=calltrack-client \
    --set kafka.sasl.mechanism=scram-sha-512 --set kafka.sasl.username=calltrack --set kafka.sasl.existingSecret=calltrack-kafka > "$WORK/tls.yaml" 2> "$WORK/tls.err"; then
  T="$WORK/tls.yaml"
  expect "CA file in every ConfigMap" 6 'KAFKA_SSL_CA_FILE: "/etc/calltrack/kafka/ca/ca.crt"' "$T"
  expect "client certificate in every ConfigMap" 6 'KAFKA_SSL_CERT_FILE: "/etc/calltrack/kafka/client/tls.crt"' "$T"
  expect "password file in every ConfigMap" 6 'KAFKA_SASL_PASSWORD_FILE: "/etc/calltrack/kafka/sasl/password"' "$T"
  expect "CA, client and password Secrets mounted (6 services + topic job)" 7 'secretName: kafka-cluster-ca' "$T"
  expect "client Secret volumes" 7 'secretName: calltrack-client' "$T"
  expect "password Secret volumes" 7 'secretName: calltrack-kafka' "$T"
  expect "no password variable" 0 'key: KAFKA_SASL_PASSWORD$' "$T"
else
  cat "$WORK/tls.err"; fail "template with kafka.tls and kafka.sasl.existingSecret"
fi

# --- Strimzi ---------------------------------------------------------------------------
step "Strimzi KafkaTopics and KafkaUsers"
registry_topics=$(node -e 'process.stdout.write(String(require(process.argv[1]).topics.length))' "$ROOT/$CHART/files/kafka-access.json")
if render "${MIN[@]}" --set kafka.topicPrefix=prod. --set strimzi.cluster=events --set strimzi.topics.enabled=true --set strimzi.users.enabled=true > "$WORK/strimzi.yaml" 2> "$WORK/strimzi.err"; then
  S="$WORK/strimzi.yaml"
  expect "a KafkaTopic per registry topic and twin" "$registry_topics" '^kind: KafkaTopic$' "$S"
  expect "KafkaUsers (one per service)" 6 '^kind: KafkaUser$' "$S"
  expect "topic names carry the prefix" "$registry_topics" '^  topicName: prod\.calltrack\.' "$S"
  expect "no topics Job with Strimzi topics" 0 'provision-topics.cli.js' "$S"
  expect "SCRAM user names in the ConfigMaps" 1 'KAFKA_SASL_USERNAME: "calltrack-attribution"' "$S"
  expect "each service mounts its KafkaUser's Secret" 1 'secretName: calltrack-conversion-export$' "$S"
  expect "prefixed consumer-group ACLs" 1 'name: "prod.conversion-export"' "$S"
else
  cat "$WORK/strimzi.err"; fail "template with strimzi.topics and strimzi.users"
fi

# --- required values fail with their message -------------------------------------------
step "required values"
must_fail() { # description, expected message fragment, helm args…
  local what="$1" msg="$2"; shift 2
  if render "$@" > /dev/null 2> "$WORK/err.txt"; then
    fail "$what: rendered without error"
  elif grep -q -F -- "$msg" "$WORK/err.txt"; then
    pass "$what -> $(grep -o -F -- "$msg" "$WORK/err.txt" | head -1) …"
  else
    cat "$WORK/err.txt"; fail "$what: failed without the message '$msg'"
  fi
}
must_fail "image.repository missing" "image.repository is required" "${R_BROKERS[@]}" "${R_CLICKHOUSE[@]}" "${R_ADMIN[@]}"
must_fail "kafka.brokers missing" "kafka.brokers is required" "${R_IMAGE[@]}" "${R_CLICKHOUSE[@]}" "${R_ADMIN[@]}"
must_fail "clickhouse.url missing" "clickhouse.url is required" "${R_IMAGE[@]}" "${R_BROKERS[@]}" "${R_ADMIN[@]}"
must_fail "secrets.adminToken missing" "secrets.adminToken is required" "${R_IMAGE[@]}" "${R_BROKERS[@]}" "${R_CLICKHOUSE[@]}"
must_fail "secrets.adminToken too short" "secrets.adminToken must be at least 24 characters" "${MIN[@]}" --set secrets.adminToken=short
must_fail "gRPC on without token" "secrets.grpcApiToken is required" "${MIN[@]}" --set attribution.grpc.enabled=true
must_fail "SASL without password" "secrets.kafkaSaslPassword is required" "${MIN[@]}" --set kafka.sasl.mechanism=scram-sha-512 --set kafka.sasl.username=u
must_fail "SASL without user name" "kafka.sasl.username is required" "${MIN[@]}" --set kafka.sasl.mechanism=scram-sha-512 --set secrets.kafkaSaslPassword=p
must_fail "SASL PLAIN without TLS" "plain sends the password in clear text" "${MIN[@]}" --set kafka.sasl.mechanism=plain --set kafka.sasl.username=u --set secrets.kafkaSaslPassword=p
must_fail "TLS Secrets without kafka.ssl" "need kafka.ssl: true" "${MIN[@]}" --set kafka.tls.caSecret=kafka-ca
must_fail "migrations deadline under one statement's limit" "must be longer than migrations.timeoutSeconds" "${MIN[@]}" --set migrations.activeDeadlineSeconds=600
must_fail "Strimzi users with the topics Job" "turn the topics Job off" "${MIN[@]}" --set strimzi.cluster=kafka --set strimzi.users.enabled=true
must_fail "non-HTTP clickhouse.url" "clickhouse.url" "${MIN[@]}" --set clickhouse.url=tcp://clickhouse:9000
must_fail "misspelt variable (schema)" "Additional property TRACKER_CACHE_SECOND is not allowed" "${MIN[@]}" --set sessionTracker.config.TRACKER_CACHE_SECOND=1
must_fail "ADMIN_TOKEN in a ConfigMap (schema)" "Additional property ADMIN_TOKEN is not allowed" "${MIN[@]}" --set numberPool.config.ADMIN_TOKEN=0123456789abcdef01
must_fail "same host on both ingresses" "give them different hosts" "${MIN[@]}" \
  --set ingress.tracker.enabled=true --set 'ingress.tracker.hosts={a.example.com}' \
  --set ingress.webhooks.enabled=true --set 'ingress.webhooks.hosts={a.example.com}'
must_fail "grace period shorter than the drain" "must be longer than preStopSleepSeconds + SHUTDOWN_TIMEOUT_MS" "${MIN[@]}" --set terminationGracePeriodSeconds=20

# --- docs/configuration.md coverage -----------------------------------------------------
step "docs/configuration.md coverage"
# Variables with a value of their own (not a `config` key); the README maps them.
dedicated=" KAFKA_BROKERS KAFKA_TOPIC_PREFIX KAFKA_SSL KAFKA_SSL_CA_FILE KAFKA_SSL_CERT_FILE KAFKA_SSL_KEY_FILE KAFKA_SASL_MECHANISM KAFKA_SASL_USERNAME KAFKA_SASL_PASSWORD KAFKA_SASL_PASSWORD_FILE CLICKHOUSE_MIGRATE CLICKHOUSE_MIGRATION_TIMEOUT_SECONDS PORT ADMIN_TOKEN CLICKHOUSE_URL CLICKHOUSE_USER CLICKHOUSE_PASSWORD CLICKHOUSE_DATABASE GRPC_PORT GRPC_API_TOKEN EXPORT_WEBHOOK_SECRET ASTERISK_AMI_PBXES CLIENT_ADDRESS_HASH_KEY KAFKA_REPLICATION_FACTOR OTEL_TRACES_EXPORTER OTEL_EXPORTER_OTLP_ENDPOINT OTEL_EXPORTER_OTLP_TRACES_ENDPOINT OTEL_EXPORTER_OTLP_HEADERS "
vars=$( { grep -o -E '^\| `[A-Z][A-Z0-9_]+`' docs/configuration.md | tr -d '|` '; grep -o -E '`KAFKA_REPLICATION_FACTOR`' docs/configuration.md | tr -d '`'; } | sort -u)
missing_readme=(); missing_schema=()
for v in $vars; do
  grep -q -F "\`$v\`" "$CHART/README.md" || missing_readme+=("$v")
  case "$dedicated" in *" $v "*) continue ;; esac
  grep -q -F "\"$v\"" "$CHART/values.schema.json" || missing_schema+=("$v")
done
n=$(echo "$vars" | wc -w)
if [ ${#missing_readme[@]} = 0 ]; then pass "all $n variables documented in $CHART/README.md"; else fail "not in the chart README: ${missing_readme[*]}"; fi
if [ ${#missing_schema[@]} = 0 ]; then pass "every config variable accepted by values.schema.json"; else fail "not in values.schema.json: ${missing_schema[*]}"; fi

echo
if [ ${#failures[@]} = 0 ]; then
  echo "check-chart: OK"
  exit 0
fi
echo "check-chart: FAIL (${#failures[@]} problem(s)):"
printf '  - %s\n' "${failures[@]}"
exit 1
