{{/*
The six services: values key -> service name, whether it has admin endpoints (ADMIN_TOKEN)
and whether it serves public endpoints (ingress, networkPolicy.publicFrom).
*/}}
{{- define "calltrack.serviceKeys" -}}
sessionTracker numberPool telephonyIngest attribution conversionExport antifraud
{{- end }}

{{- define "calltrack.serviceDefs" -}}
sessionTracker: { name: session-tracker, admin: false, public: true }
numberPool: { name: number-pool, admin: true, public: false }
telephonyIngest: { name: telephony-ingest, admin: true, public: true }
attribution: { name: attribution, admin: true, public: false }
conversionExport: { name: conversion-export, admin: true, public: false }
antifraud: { name: antifraud, admin: true, public: false }
{{- end }}

{{- define "calltrack.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Room for the longest component suffix ("-conversion-export", 18 characters). */}}
{{- define "calltrack.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 45 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 45 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 45 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "calltrack.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "calltrack.selectorLabels" -}}
app.kubernetes.io/name: {{ include "calltrack.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "calltrack.labels" -}}
helm.sh/chart: {{ include "calltrack.chart" . }}
{{ include "calltrack.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: calltrack
{{- end }}

{{/* Component labels; argument: dict root, name (service name or "kafka-topics"). */}}
{{- define "calltrack.componentSelectorLabels" -}}
{{ include "calltrack.selectorLabels" .root }}
app.kubernetes.io/component: {{ .name }}
{{- end }}

{{- define "calltrack.componentLabels" -}}
{{ include "calltrack.labels" .root }}
app.kubernetes.io/component: {{ .name }}
{{- end }}

{{- define "calltrack.componentFullname" -}}
{{- printf "%s-%s" (include "calltrack.fullname" .root) .name }}
{{- end }}

{{- define "calltrack.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "calltrack.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "calltrack.secretName" -}}
{{- default (include "calltrack.fullname" .) .Values.secrets.existingSecret }}
{{- end }}

{{/* Image of a service (argument: dict root, svc = the service's values or empty dict). */}}
{{- define "calltrack.image" -}}
{{- $img := .root.Values.image }}
{{- $own := .svc.image | default dict }}
{{- $repo := default $img.repository $own.repository | required "image.repository is required: the registry path of the image built from the repository's Dockerfile (e.g. registry.example.com/calltrack)" }}
{{- $digest := default $img.digest $own.digest }}
{{- if $digest }}
{{- printf "%s@%s" $repo $digest }}
{{- else }}
{{- printf "%s:%s" $repo (default .root.Chart.AppVersion (default $img.tag $own.tag) | toString) }}
{{- end }}
{{- end }}

{{/* A config value as an environment string: whole numbers without an exponent (YAML numbers arrive as float64). */}}
{{- define "calltrack.envValue" -}}
{{- if and (kindIs "float64" .) (eq (float64 (int64 .)) .) }}{{ int64 . }}{{ else }}{{ . }}{{ end }}
{{- end }}

{{/*
Kafka and logging variables shared by the services and the topic job (a dict). The
authentication variables are per component: calltrack.kafkaSecurity (_kafka-security.tpl).
*/}}
{{- define "calltrack.kafkaEnv" -}}
{{- $v := .Values }}
KAFKA_BROKERS: {{ required "kafka.brokers is required: comma-separated bootstrap servers of the external Kafka cluster (KAFKA_BROKERS), e.g. kafka-0.kafka:9092,kafka-1.kafka:9092" $v.kafka.brokers | quote }}
KAFKA_TOPIC_PREFIX: {{ $v.kafka.topicPrefix | default "" | quote }}
KAFKA_SSL: {{ $v.kafka.ssl | toString | quote }}
LOG_LEVEL: {{ $v.logLevel | quote }}
{{- end }}

{{/*
The non-secret environment of one service, as ConfigMap data (argument: dict root, key).
Order of precedence: chart-derived values < config < <service>.config.
*/}}
{{- define "calltrack.configData" -}}
{{- $root := .root }}
{{- $v := $root.Values }}
{{- $def := index (include "calltrack.serviceDefs" $root | fromYaml) .key }}
{{- $svc := index $v .key }}
{{- $env := include "calltrack.kafkaEnv" $root | fromYaml }}
{{- range $k, $val := (include "calltrack.kafkaSecurity" (dict "root" $root "name" $def.name) | fromYaml).env }}{{ $_ := set $env $k $val }}{{ end }}
{{- $_ := set $env "PORT" ($svc.port | toString) }}
{{- $_ := set $env "OTEL_SERVICE_NAME" $def.name }}
{{- with $v.otel.endpoint }}{{ $_ := set $env "OTEL_EXPORTER_OTLP_ENDPOINT" . }}{{ end }}
{{- with $v.otel.tracesEndpoint }}{{ $_ := set $env "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT" . }}{{ end }}
{{- with $v.otel.tracesExporter }}{{ $_ := set $env "OTEL_TRACES_EXPORTER" . }}{{ end }}
{{- range $k, $val := $v.otel.env }}{{ $_ := set $env $k $val }}{{ end }}
{{- if eq .key "attribution" }}
{{- $url := required "clickhouse.url is required: attribution must use a ClickHouse server in a cluster (CLICKHOUSE_URL, e.g. http://clickhouse.db:8123); the embedded engine is for a laptop only" $v.clickhouse.url }}
{{- if not (regexMatch "^https?://[^/\\s]+" $url) }}
{{- fail (printf "clickhouse.url must be an http:// or https:// URL of the ClickHouse HTTP interface, got %q" $url) }}
{{- end }}
{{- $_ := set $env "CLICKHOUSE_URL" $url }}
{{- $_ := set $env "CLICKHOUSE_USER" $v.clickhouse.user }}
{{- $_ := set $env "CLICKHOUSE_DATABASE" $v.clickhouse.database }}
{{- /* The migrations Job applies the schema; without it the pods migrate themselves, under the migration lock. */}}
{{- $_ := set $env "CLICKHOUSE_MIGRATE" (ternary "wait" "auto" $v.migrations.enabled) }}
{{- if $svc.grpc.enabled }}
{{- $_ := set $env "GRPC_PORT" ($svc.grpc.port | toString) }}
{{- end }}
{{- end }}
{{- range $k, $val := $v.config }}{{ $_ := set $env $k $val }}{{ end }}
{{- range $k, $val := $svc.config }}{{ $_ := set $env $k $val }}{{ end }}
{{- range $k, $val := $env }}
{{- if not (kindIs "invalid" $val) }}
{{ $k }}: {{ include "calltrack.envValue" $val | quote }}
{{- end }}
{{- end }}
{{- end }}

{{/* SHUTDOWN_TIMEOUT_MS in force for a service (argument: dict root, key). */}}
{{- define "calltrack.shutdownMs" -}}
{{- $v := .root.Values }}
{{- $svc := index $v .key }}
{{- $ms := 25000 }}
{{- with $v.config }}{{ with .SHUTDOWN_TIMEOUT_MS }}{{ $ms = . }}{{ end }}{{ end }}
{{- with $svc.config }}{{ with .SHUTDOWN_TIMEOUT_MS }}{{ $ms = . }}{{ end }}{{ end }}
{{- include "calltrack.envValue" $ms | atoi }}
{{- end }}

{{/*
Secret-sourced variables of one service (argument: dict root, key): a list of EnvVar.
Chart-managed Secret: only the keys that have a value. existingSecret: the keys the
service may read, optional unless the configuration needs them.
*/}}
{{- define "calltrack.secretEnv" -}}
{{- $root := .root }}
{{- $v := $root.Values }}
{{- $s := $v.secrets }}
{{- $def := index (include "calltrack.serviceDefs" $root | fromYaml) .key }}
{{- $svc := index $v .key }}
{{- $existing := ne ($s.existingSecret | default "") "" }}
{{- $name := include "calltrack.secretName" $root }}
{{- $refs := list }}
{{- if $def.admin }}{{ $refs = append $refs (dict "env" "ADMIN_TOKEN" "value" $s.adminToken "required" true) }}{{ end }}
{{- if include "calltrack.kafkaSaslPasswordFromEnv" (dict "root" $root "name" $def.name) }}{{ $refs = append $refs (dict "env" "KAFKA_SASL_PASSWORD" "value" $s.kafkaSaslPassword "required" true) }}{{ end }}
{{- $refs = append $refs (dict "env" "OTEL_EXPORTER_OTLP_HEADERS" "value" $s.otelExporterOtlpHeaders "required" false) }}
{{- if eq .key "attribution" }}
{{- $refs = append $refs (dict "env" "CLICKHOUSE_PASSWORD" "value" $s.clickhousePassword "required" false) }}
{{- if $svc.grpc.enabled }}{{ $refs = append $refs (dict "env" "GRPC_API_TOKEN" "value" $s.grpcApiToken "required" true) }}{{ end }}
{{- end }}
{{- if eq .key "conversionExport" }}{{ $refs = append $refs (dict "env" "EXPORT_WEBHOOK_SECRET" "value" $s.exportWebhookSecret "required" false) }}{{ end }}
{{- if eq .key "sessionTracker" }}{{ $refs = append $refs (dict "env" "CLIENT_ADDRESS_HASH_KEY" "value" $s.clientAddressHashKey "required" false) }}{{ $refs = append $refs (dict "env" "SESSION_ID_KEY" "value" $s.sessionIdKey "required" false) }}{{ end }}
{{- /* Not passed at all with telephonyIngest.asteriskAmi false: the replica rules of _rollouts.tpl rely on it. */}}
{{- if and (eq .key "telephonyIngest") (include "calltrack.asteriskAmi" $root) }}{{ $refs = append $refs (dict "env" "ASTERISK_AMI_PBXES" "value" $s.asteriskAmiPbxes "required" false) }}{{ end }}
{{- range $refs }}
{{- if or $existing .value }}
- name: {{ .env }}
  valueFrom:
    secretKeyRef:
      name: {{ $name }}
      key: {{ .env }}
      {{- if not .required }}
      optional: true
      {{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/* Data of the chart-managed Secret (stringData). */}}
{{- define "calltrack.secretData" -}}
{{- $s := .Values.secrets }}
{{- $admin := false }}
{{- $defs := include "calltrack.serviceDefs" . | fromYaml }}
{{- range $key := splitList " " (include "calltrack.serviceKeys" .) }}
{{- if and (index $.Values $key).enabled (index $defs $key).admin }}{{ $admin = true }}{{ end }}
{{- end }}
{{- if $admin }}
{{- $token := required "secrets.adminToken is required (or set secrets.existingSecret to a Secret with an ADMIN_TOKEN key): bearer token of the admin endpoints, at least 24 characters (e.g. openssl rand -hex 24)" $s.adminToken }}
{{- if lt (len $token) 24 }}{{ fail "secrets.adminToken must be at least 24 characters" }}{{ end }}
ADMIN_TOKEN: {{ $token | quote }}
{{- end }}
{{- if and .Values.attribution.enabled .Values.attribution.grpc.enabled }}
{{- $grpc := required "secrets.grpcApiToken is required with attribution.grpc.enabled (GRPC_API_TOKEN, at least 16 characters)" $s.grpcApiToken }}
{{- if lt (len $grpc) 16 }}{{ fail "secrets.grpcApiToken must be at least 16 characters" }}{{ end }}
GRPC_API_TOKEN: {{ $grpc | quote }}
{{- end }}
{{- if and .Values.kafka.sasl.mechanism (not .Values.kafka.sasl.existingSecret) (not .Values.strimzi.users.enabled) }}
KAFKA_SASL_PASSWORD: {{ required "secrets.kafkaSaslPassword is required with kafka.sasl.mechanism (KAFKA_SASL_PASSWORD)" $s.kafkaSaslPassword | quote }}
{{- end }}
{{- with $s.clickhousePassword }}
CLICKHOUSE_PASSWORD: {{ . | quote }}
{{- end }}
{{- with $s.exportWebhookSecret }}
{{- if lt (len .) 16 }}{{ fail "secrets.exportWebhookSecret must be at least 16 characters (EXPORT_WEBHOOK_SECRET)" }}{{ end }}
EXPORT_WEBHOOK_SECRET: {{ . | quote }}
{{- end }}
{{- with $s.clientAddressHashKey }}
{{- if lt (len .) 16 }}{{ fail "secrets.clientAddressHashKey must be at least 16 characters (CLIENT_ADDRESS_HASH_KEY)" }}{{ end }}
CLIENT_ADDRESS_HASH_KEY: {{ . | quote }}
{{- end }}
{{- with $s.sessionIdKey }}
{{- if lt (len .) 16 }}{{ fail "secrets.sessionIdKey must be at least 16 characters (SESSION_ID_KEY)" }}{{ end }}
SESSION_ID_KEY: {{ . | quote }}
{{- end }}
{{- with $s.asteriskAmiPbxes }}
{{- if not (hasPrefix "[" (trim .)) }}{{ fail "secrets.asteriskAmiPbxes must be a JSON array (ASTERISK_AMI_PBXES)" }}{{ end }}
ASTERISK_AMI_PBXES: {{ . | quote }}
{{- end }}
{{- with $s.otelExporterOtlpHeaders }}
OTEL_EXPORTER_OTLP_HEADERS: {{ . | quote }}
{{- end }}
{{- end }}

{{/* Checks across values that the schema cannot express; included by configmap.yaml. */}}
{{- define "calltrack.validate" -}}
{{- $v := .Values }}
{{- $_ := include "calltrack.image" (dict "root" . "svc" dict) }}
{{- if $v.ingress.tracker.enabled }}
{{- if not $v.ingress.tracker.hosts }}{{ fail "ingress.tracker.hosts needs at least one host when ingress.tracker.enabled" }}{{ end }}
{{- if not $v.sessionTracker.enabled }}{{ fail "ingress.tracker.enabled needs sessionTracker.enabled" }}{{ end }}
{{- end }}
{{- if $v.ingress.webhooks.enabled }}
{{- if not $v.ingress.webhooks.hosts }}{{ fail "ingress.webhooks.hosts needs at least one host when ingress.webhooks.enabled" }}{{ end }}
{{- if not $v.telephonyIngest.enabled }}{{ fail "ingress.webhooks.enabled needs telephonyIngest.enabled" }}{{ end }}
{{- end }}
{{- if and $v.ingress.tracker.enabled $v.ingress.webhooks.enabled }}
{{- range $v.ingress.tracker.hosts }}
{{- if has . $v.ingress.webhooks.hosts }}{{ fail (printf "host %s is in both ingress.tracker.hosts and ingress.webhooks.hosts: session-tracker and telephony-ingest both serve paths under /v1/sites/, give them different hosts" .) }}{{ end }}
{{- end }}
{{- end }}
{{- if and $v.podDisruptionBudget.enabled (not (kindIs "invalid" $v.podDisruptionBudget.maxUnavailable)) (not (kindIs "invalid" $v.podDisruptionBudget.minAvailable)) }}
{{- fail "podDisruptionBudget: set maxUnavailable or minAvailable, not both (set the other to null)" }}
{{- end }}
{{- end }}
