#!/usr/bin/env bash
# Checks the Helm chart in charts/calltrack without a cluster:
#   helm lint (defaults, and --strict with ci/test-values.yaml), helm template of the
#   required values only and of ci/test-values.yaml with checks of what it renders,
#   required values failing with their message when missing, the values schema refusing
#   a misspelt variable, and every variable of docs/configuration.md being documented in
#   the chart's README and settable through the schema; rollouts and scaling (singletons
#   refused more than one copy, autoscaling capped at the partition count, PDBs, scheduling
#   defaults, checksums that roll the pods); metrics (ServiceMonitor, PrometheusRule,
#   dashboard, KEDA render when enabled; files/alerts.yaml checked and unit-tested by
#   promtool; generated files up to date).
# Helm: the one on PATH, else .cache/bin/helm, else built from the Go module proxy into
# .cache/bin (HELM_VERSION, default v3.16.4; needs Go; a few minutes on 2 cores).
# promtool: the same way (PROMTOOL_VERSION, default v0.316.0 = Prometheus 3.16.0; about 10
# minutes on 2 busy cores the first time).
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
# The project's Node 24 (the generators import TypeScript sources with type stripping).
export PATH="$ROOT/node_modules/.bin:$PATH"
PROMTOOL_VERSION="${PROMTOOL_VERSION:-v0.316.0}"
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
expect "ConfigMaps (6 services + dashboard)" 7 '^kind: ConfigMap$' "$F"
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
expect "KEDA ScaledObject (number-pool)" 1 '^kind: ScaledObject$' "$F"
expect "ServiceMonitor" 1 '^kind: ServiceMonitor$' "$F"
expect "PrometheusRule" 1 '^kind: PrometheusRule$' "$F"
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

# --- probes ---------------------------------------------------------------------------------
step "probes"
M="$WORK/min.yaml"
expect "startup probes of 30 min (number-pool, attribution rebuild)" 2 '^            failureThreshold: 180$' "$M"
expect "startup probe of 15 min (telephony-ingest)" 1 '^            failureThreshold: 90$' "$M"
if render "${MIN[@]}" --set sessionTracker.probes.startup.failureThreshold=30 --set probes.liveness.periodSeconds=20 > "$WORK/probes.yaml" 2> "$WORK/err.txt"; then
  expect "<service>.probes overrides one field" 1 '^            failureThreshold: 30$' "$WORK/probes.yaml"
  expect "probes.* applies to every service" 6 '^            periodSeconds: 20$' "$WORK/probes.yaml"
else cat "$WORK/err.txt"; fail "render with probe overrides"; fi

# --- rollouts and scaling ------------------------------------------------------------------
step "rollouts, scaling, disruptions"
expect "Recreate strategy (conversion-export; telephony-ingest without AMI rolls)" 1 '^    type: Recreate$' "$M"
expect "Recreate strategy with AMI configured (conversion-export + telephony-ingest)" 2 '^    type: Recreate$' "$F"
expect "PDBs by default (4 multi-replica + 2 single-replica guards)" 6 '^kind: PodDisruptionBudget$' "$M"
expect "single-replica guards: minAvailable 1" 2 '^  minAvailable: 1$' "$M"
expect "unhealthyPodEvictionPolicy AlwaysAllow (Kubernetes >= 1.27)" 6 'unhealthyPodEvictionPolicy: AlwaysAllow' "$M"
expect "soft pod anti-affinity by default" 6 'preferredDuringSchedulingIgnoredDuringExecution:' "$M"
expect "zone spread by default" 6 'topologyKey: topology.kubernetes.io/zone' "$M"
expect "zone spread ignores the old ReplicaSet's pods" 6 'matchLabelKeys: \[pod-template-hash\]' "$M"
if render "${MIN[@]}" --set podDisruptionBudget.singleReplica=none > "$WORK/pdb-none.yaml" 2> "$WORK/err.txt"; then
  expect "singleReplica: none -> no PDB for the two singletons" 4 '^kind: PodDisruptionBudget$' "$WORK/pdb-none.yaml"
else cat "$WORK/err.txt"; fail "render with podDisruptionBudget.singleReplica=none"; fi
if render "${MIN[@]}" --kube-version 1.26.0 > "$WORK/k126.yaml" 2> "$WORK/err.txt"; then
  expect "Kubernetes 1.26: no unhealthyPodEvictionPolicy" 0 'unhealthyPodEvictionPolicy' "$WORK/k126.yaml"
  expect "Kubernetes 1.26: no matchLabelKeys" 0 'matchLabelKeys' "$WORK/k126.yaml"
else cat "$WORK/err.txt"; fail "render for Kubernetes 1.26"; fi
if render "${MIN[@]}" --set podAntiAffinityPreset=none --set zoneSpread.enabled=false --set attribution.podAntiAffinityPreset=hard > "$WORK/sched.yaml" 2> "$WORK/err.txt"; then
  expect "presets off: no soft anti-affinity" 0 'preferredDuringSchedulingIgnoredDuringExecution:' "$WORK/sched.yaml"
  expect "presets off: no spread" 0 'topologySpreadConstraints:' "$WORK/sched.yaml"
  expect "attribution.podAntiAffinityPreset=hard" 1 'requiredDuringSchedulingIgnoredDuringExecution:' "$WORK/sched.yaml"
else cat "$WORK/err.txt"; fail "render with the scheduling presets off"; fi
if render "${MIN[@]}" --set numberPool.autoscaling.enabled=true --set numberPool.autoscaling.maxReplicas=6 > "$WORK/hpa6.yaml" 2> "$WORK/err.txt"; then
  pass "number-pool HPA with maxReplicas 6 (= pool-commands partitions) renders"
  expect "partition owners scale one pod at a time (default behavior)" 1 'stabilizationWindowSeconds: 600' "$WORK/hpa6.yaml"
else cat "$WORK/err.txt"; fail "number-pool HPA with maxReplicas 6"; fi
ok_ami_off=(--set secrets.adminToken= --set secrets.existingSecret=calltrack-secrets --set telephonyIngest.asteriskAmi=false --set telephonyIngest.replicaCount=2)
if render "${MIN[@]}" "${ok_ami_off[@]}" > "$WORK/ami-off.yaml" 2> "$WORK/err.txt"; then
  pass "existingSecret + telephonyIngest.asteriskAmi=false: telephony-ingest may run 2 replicas"
  expect "asteriskAmi=false: ASTERISK_AMI_PBXES not passed" 0 'key: ASTERISK_AMI_PBXES' "$WORK/ami-off.yaml"
else cat "$WORK/err.txt"; fail "existingSecret + asteriskAmi=false + 2 telephony-ingest replicas"; fi
# The schema refuses them first …
must_fail "conversion-export replicas 2 (schema)" "conversionExport.replicaCount: Must be less than or equal to 1" "${MIN[@]}" --set conversionExport.replicaCount=2
must_fail "conversion-export HPA (schema)" "conversionExport.autoscaling.enabled" "${MIN[@]}" --set conversionExport.autoscaling.enabled=true
must_fail "conversion-export RollingUpdate (schema)" "conversionExport.strategy.type" "${MIN[@]}" --set conversionExport.strategy.type=RollingUpdate
must_fail "telephony-ingest replicas 2 with AMI PBXes (schema)" "telephonyIngest.replicaCount: Must be less than or equal to 1" "${MIN[@]}" --set 'secrets.asteriskAmiPbxes=[{"host":"pbx"}]' --set telephonyIngest.replicaCount=2
must_fail "telephony-ingest replicas 2 with an existing Secret (schema)" "telephonyIngest.replicaCount: Must be less than or equal to 1" "${MIN[@]}" --set secrets.adminToken= --set secrets.existingSecret=s --set telephonyIngest.replicaCount=2
must_fail "telephony-ingest HPA with AMI (schema)" "telephonyIngest.autoscaling.enabled" "${MIN[@]}" --set telephonyIngest.asteriskAmi=true --set telephonyIngest.autoscaling.enabled=true
must_fail "KEDA for session-tracker (schema)" "Additional property keda is not allowed" "${MIN[@]}" --set sessionTracker.autoscaling.keda.enabled=true
# … and the templates refuse them too, with the reason (values that skip the schema, e.g. --skip-schema-validation).
NS=(--skip-schema-validation)
must_fail "conversion-export replicas 2 (template)" "conversion-export must run one replica" "${MIN[@]}" "${NS[@]}" --set conversionExport.replicaCount=2
must_fail "conversion-export HPA (template)" "conversionExport.autoscaling is enabled" "${MIN[@]}" "${NS[@]}" --set conversionExport.autoscaling.enabled=true
must_fail "conversion-export RollingUpdate (template)" "needs Recreate" "${MIN[@]}" "${NS[@]}" --set conversionExport.strategy.type=RollingUpdate
must_fail "telephony-ingest replicas 2 with an existing Secret (template)" "telephony-ingest must run one replica, with Asterisk AMI" "${MIN[@]}" "${NS[@]}" --set secrets.adminToken= --set secrets.existingSecret=s --set telephonyIngest.replicaCount=2
must_fail "asteriskAmi=false with a PBX list" "telephonyIngest.asteriskAmi is false but secrets.asteriskAmiPbxes is set" "${MIN[@]}" --set telephonyIngest.asteriskAmi=false --set 'secrets.asteriskAmiPbxes=[{"host":"pbx"}]'
must_fail "HPA above the partition count" "number-pool splits 6 partitions between its replicas" "${MIN[@]}" --set numberPool.autoscaling.enabled=true --set numberPool.autoscaling.maxReplicas=7
must_fail "KEDA above the partition count" "attribution splits 6 partitions between its replicas" "${MIN[@]}" --set attribution.autoscaling.keda.enabled=true --set attribution.autoscaling.maxReplicas=8
must_fail "HPA and KEDA together" "KEDA creates its own HPA, choose one" "${MIN[@]}" --set antifraud.autoscaling.enabled=true --set antifraud.autoscaling.keda.enabled=true
must_fail "minReplicas above maxReplicas" "is above maxReplicas" "${MIN[@]}" --set antifraud.autoscaling.enabled=true --set antifraud.autoscaling.minReplicas=5 --set antifraud.autoscaling.maxReplicas=4

# --- config changes roll the pods ---------------------------------------------------------
step "checksums roll the pods"
sums() { grep -o -E "checksum/$1: [0-9a-f]{64}" "$2" || true; }
if render "${MIN[@]}" --set sessionTracker.config.TRACKER_CACHE_SECONDS=120 > "$WORK/cfg2.yaml" 2> "$WORK/err.txt" \
  && render "${MIN[@]}" --set secrets.adminToken=fedcba9876543210fedcba9876543210 > "$WORK/sec2.yaml" 2> "$WORK/err.txt"; then
  a=$(sums config "$M"); b=$(sums config "$WORK/cfg2.yaml")
  changed=$(diff <(echo "$a") <(echo "$b") | grep -c '^>' || true)
  if [ "$(echo "$a" | wc -l)" = 6 ] && [ "$changed" = 1 ] && [ "$(echo "$a" | head -1)" != "$(echo "$b" | head -1)" ]; then
    pass "a session-tracker config change changes its checksum/config only (1 of 6)"
  else fail "checksum/config: expected session-tracker's alone to change, $changed of $(echo "$a" | wc -l) changed"; fi
  a=$(sums secret "$M"); b=$(sums secret "$WORK/sec2.yaml")
  changed=$(diff <(echo "$a") <(echo "$b") | grep -c '^>' || true)
  if [ "$changed" = 6 ]; then pass "a Secret change changes checksum/secret of all 6 Deployments"; else fail "checksum/secret: $changed of 6 changed"; fi
  if [ "$(sums config "$M")" = "$(render "${MIN[@]}" 2>/dev/null | grep -o -E 'checksum/config: [0-9a-f]{64}')" ]; then
    pass "same values, same checksums (no needless rollout)"
  else fail "checksums differ between two renders of the same values"; fi
else cat "$WORK/err.txt"; fail "renders for the checksum checks"; fi

# --- metrics: ServiceMonitor, PrometheusRule, dashboard ---------------------------------------
step "metrics, alerts, dashboard"
for kind in ServiceMonitor PrometheusRule ScaledObject; do
  expect "no $kind by default" 0 "^kind: $kind\$" "$M"
done
expect "no dashboard ConfigMap by default" 0 'name: calltrack-dashboard$' "$M"
expect "ServiceMonitor sets job=calltrack" 1 'replacement: calltrack$' "$F"
expect "ServiceMonitor scrapes /metrics on http" 1 'path: /metrics$' "$F"
expect "dashboard ConfigMap with the sidecar label" 1 'grafana_dashboard: "1"$' "$F"
expect "dashboard JSON embedded" 1 '"uid": "calltrack-overview"' "$F"
expect "network policy admits the scrape (6 services)" 6 "# Prometheus: GET /metrics on the HTTP port" "$F"
expect "KEDA trigger per number-pool group (number-pool, number-pool.calls)" 2 'consumerGroup: "prod\.number-pool(\.calls)?"$' "$F"
alerts_file=$(grep -c '^      - alert: ' "$CHART/files/alerts.yaml")
expect "PrometheusRule carries every alert of files/alerts.yaml" "$alerts_file" '^      - alert: ' "$F"
expect "runbook_url on every alert (runbookBaseUrl)" "$alerts_file" 'runbook_url: https://git.example.com/' "$F"
expect "override applied (CalltrackConsumerLagGrowing for 30m)" 1 '^        for: 30m$' "$F"
if render "${MIN[@]}" --set metrics.prometheusRule.enabled=true --set conversionExport.enabled=false \
    --set 'metrics.prometheusRule.disabled={CalltrackPodRestarting}' > "$WORK/rules.yaml" 2> "$WORK/err.txt"; then
  expect "a disabled service loses its CalltrackServiceMissing rule (5 of 6)" 5 'alert: CalltrackServiceMissing$' "$WORK/rules.yaml"
  expect "metrics.prometheusRule.disabled leaves the alert out" 0 'alert: CalltrackPodRestarting$' "$WORK/rules.yaml"
else cat "$WORK/err.txt"; fail "PrometheusRule with a disabled service and alert"; fi
must_fail "unknown alert in overrides" "no alert named CalltrackNoSuchAlert" "${MIN[@]}" --set metrics.prometheusRule.enabled=true --set metrics.prometheusRule.overrides.CalltrackNoSuchAlert.for=5m
must_fail "ServiceMonitor behind a network policy without a scrape peer" "no peer may reach the HTTP port" "${MIN[@]}" --set networkPolicy.enabled=true --set metrics.serviceMonitor.enabled=true
if render "${MIN[@]}" --set metrics.podAnnotations=true > "$WORK/ann.yaml" 2> "$WORK/err.txt"; then
  expect "metrics.podAnnotations: prometheus.io/scrape on 6 pods" 6 "prometheus.io/scrape: \"true\"" "$WORK/ann.yaml"
else cat "$WORK/err.txt"; fail "render with metrics.podAnnotations"; fi
# Generated files: from the topic registry and the services' consumers; from the dashboard's panel list.
for gen in gen-chart-topics gen-grafana-dashboard; do
  if node "scripts/$gen.mjs" --check > "$WORK/gen.txt" 2>&1; then pass "$(cat "$WORK/gen.txt")"; else cat "$WORK/gen.txt"; fail "scripts/$gen.mjs --check"; fi
done
# Every calltrack_* series the rules and the dashboard use is one the services expose (docs/operations-alerts.md, "Metrics").
unknown=()
for name in $(grep -h -o -E 'calltrack_[a-z_]+' "$CHART/files/alerts.yaml" "$CHART/files/dashboard.json" | sed -E 's/_(bucket|sum|count)$//' | sort -u); do
  grep -q -E "^\| \`$name\`" docs/operations-alerts.md || unknown+=("$name")
done
if [ ${#unknown[@]} = 0 ]; then pass "every calltrack_* series of the rules and the dashboard is in docs/operations-alerts.md"; else fail "series not in docs/operations-alerts.md: ${unknown[*]}"; fi
# promtool: the rule file, the rendered PrometheusRule, and the alert unit tests.
PROMTOOL=""
if command -v promtool > /dev/null 2>&1; then
  PROMTOOL="$(command -v promtool)"
elif [ -x .cache/bin/promtool ]; then
  PROMTOOL="$ROOT/.cache/bin/promtool"
elif command -v go > /dev/null 2>&1; then
  echo "  building promtool $PROMTOOL_VERSION from the Go module proxy into .cache/bin (several minutes) …"
  started=$SECONDS
  if CGO_ENABLED=0 GOBIN="$ROOT/.cache/bin" go install -trimpath -ldflags "-s -w" \
      "github.com/prometheus/prometheus/cmd/promtool@$PROMTOOL_VERSION" > "$WORK/promtool-build.txt" 2>&1; then
    echo "  built in $((SECONDS - started)) s"; PROMTOOL="$ROOT/.cache/bin/promtool"
  else tail -5 "$WORK/promtool-build.txt"; fi
fi
if [ -z "$PROMTOOL" ]; then
  fail "promtool is not on PATH and could not be built (Go missing or the build failed): the rules are unchecked"
else
  if "$PROMTOOL" check rules "$CHART/files/alerts.yaml" > "$WORK/pt.txt" 2>&1; then
    pass "promtool check rules files/alerts.yaml ($(grep -o -E '[0-9]+ rules found' "$WORK/pt.txt"))"
  else cat "$WORK/pt.txt"; fail "promtool check rules files/alerts.yaml"; fi
  # The PrometheusRule's spec is a rule file once un-indented.
  render -f "$CI_VALUES" --show-only templates/prometheusrule.yaml 2> /dev/null | sed -n '/^spec:$/,$p' | tail -n +2 | sed 's/^  //' > "$WORK/rendered-rules.yaml"
  if "$PROMTOOL" check rules "$WORK/rendered-rules.yaml" > "$WORK/pt.txt" 2>&1; then
    pass "promtool check rules on the rendered PrometheusRule ($(grep -o -E '[0-9]+ rules found' "$WORK/pt.txt"))"
  else cat "$WORK/pt.txt"; fail "promtool check rules on the rendered PrometheusRule"; fi
  if (cd "$CHART/tests" && "$PROMTOOL" test rules alerts.test.yaml) > "$WORK/pt.txt" 2>&1; then
    pass "promtool test rules tests/alerts.test.yaml ($(grep -c -E '^  (SUCCESS|PASSED)' "$WORK/pt.txt" || true) file)"
  else cat "$WORK/pt.txt"; fail "promtool test rules tests/alerts.test.yaml"; fi
fi

# --- docs/configuration.md coverage -----------------------------------------------------
step "docs/configuration.md coverage"
# Variables with a value of their own (not a `config` key); the README maps them.
dedicated=" KAFKA_BROKERS KAFKA_TOPIC_PREFIX KAFKA_SSL KAFKA_SSL_CA_FILE KAFKA_SSL_CERT_FILE KAFKA_SSL_KEY_FILE KAFKA_SASL_MECHANISM KAFKA_SASL_USERNAME KAFKA_SASL_PASSWORD KAFKA_SASL_PASSWORD_FILE CLICKHOUSE_MIGRATE CLICKHOUSE_MIGRATION_TIMEOUT_SECONDS PORT ADMIN_TOKEN CLICKHOUSE_URL CLICKHOUSE_USER CLICKHOUSE_PASSWORD CLICKHOUSE_DATABASE GRPC_PORT GRPC_API_TOKEN EXPORT_WEBHOOK_SECRET ASTERISK_AMI_PBXES CLIENT_ADDRESS_HASH_KEY SESSION_ID_KEY KAFKA_REPLICATION_FACTOR OTEL_TRACES_EXPORTER OTEL_EXPORTER_OTLP_ENDPOINT OTEL_EXPORTER_OTLP_TRACES_ENDPOINT OTEL_EXPORTER_OTLP_HEADERS "
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
