{{/*
Kafka authentication of one component (argument: dict root, name = a service name or
"kafka-topics"): a dict with
  env:     non-secret variables (mechanism, user name, paths of the mounted files)
  volumes: Secret volumes of the CA, the client certificate and the SASL password
  mounts:  their read-only mounts under /etc/calltrack/kafka/
The secrets themselves are files from Secrets, never ConfigMap values. With
strimzi.users.enabled each service authenticates as its own KafkaUser (<fullname>-<service>),
whose Secret the User Operator creates.
*/}}
{{- define "calltrack.kafkaSecurity" -}}
{{- $v := .root.Values }}
{{- $k := $v.kafka }}
{{- $tls := $k.tls | default dict }}
{{- $sasl := $k.sasl | default dict }}
{{- $strimziUsers := and $v.strimzi.users.enabled (ne .name "kafka-topics") }}
{{- $userName := printf "%s-%s" (include "calltrack.fullname" .root) .name }}
{{- $env := dict }}
{{- $volumes := list }}
{{- $mounts := list }}
{{- if and (or $tls.caSecret $tls.clientSecret) (not $k.ssl) }}
{{- fail "kafka.tls.caSecret / kafka.tls.clientSecret need kafka.ssl: true (the certificates would be ignored and the connection unencrypted)" }}
{{- end }}
{{- with $tls.caSecret }}
{{- $_ := set $env "KAFKA_SSL_CA_FILE" "/etc/calltrack/kafka/ca/ca.crt" }}
{{- $volumes = append $volumes (dict "name" "kafka-ca" "secret" (dict "secretName" . "defaultMode" 288 "items" (list (dict "key" ($tls.caKey | default "ca.crt") "path" "ca.crt")))) }}
{{- $mounts = append $mounts (dict "name" "kafka-ca" "mountPath" "/etc/calltrack/kafka/ca" "readOnly" true) }}
{{- end }}
{{- $clientSecret := $tls.clientSecret }}
{{- $certKey := $tls.certKey | default "tls.crt" }}
{{- $keyKey := $tls.keyKey | default "tls.key" }}
{{- if and $strimziUsers (eq $v.strimzi.users.authentication "tls") }}
{{- if not $k.ssl }}{{ fail "strimzi.users.authentication tls needs kafka.ssl: true" }}{{ end }}
{{- $clientSecret = $userName }}{{ $certKey = "user.crt" }}{{ $keyKey = "user.key" }}
{{- end }}
{{- with $clientSecret }}
{{- $_ := set $env "KAFKA_SSL_CERT_FILE" "/etc/calltrack/kafka/client/tls.crt" }}
{{- $_ := set $env "KAFKA_SSL_KEY_FILE" "/etc/calltrack/kafka/client/tls.key" }}
{{- $volumes = append $volumes (dict "name" "kafka-client" "secret" (dict "secretName" . "defaultMode" 288 "items" (list (dict "key" $certKey "path" "tls.crt") (dict "key" $keyKey "path" "tls.key")))) }}
{{- $mounts = append $mounts (dict "name" "kafka-client" "mountPath" "/etc/calltrack/kafka/client" "readOnly" true) }}
{{- end }}
{{- if and $strimziUsers (eq $v.strimzi.users.authentication "scram-sha-512") }}
{{- $_ := set $env "KAFKA_SASL_MECHANISM" "scram-sha-512" }}
{{- $_ := set $env "KAFKA_SASL_USERNAME" $userName }}
{{- $_ := set $env "KAFKA_SASL_PASSWORD_FILE" "/etc/calltrack/kafka/sasl/password" }}
{{- $volumes = append $volumes (dict "name" "kafka-sasl" "secret" (dict "secretName" $userName "defaultMode" 288 "items" (list (dict "key" "password" "path" "password")))) }}
{{- $mounts = append $mounts (dict "name" "kafka-sasl" "mountPath" "/etc/calltrack/kafka/sasl" "readOnly" true) }}
{{- else if and (not $strimziUsers) $sasl.mechanism }}
{{- if and (eq $sasl.mechanism "plain") (not $k.ssl) }}{{ fail "kafka.sasl.mechanism plain sends the password in clear text: set kafka.ssl: true, or use scram-sha-256/512" }}{{ end }}
{{- $_ := set $env "KAFKA_SASL_MECHANISM" $sasl.mechanism }}
{{- $_ := set $env "KAFKA_SASL_USERNAME" (required "kafka.sasl.username is required with kafka.sasl.mechanism (KAFKA_SASL_USERNAME)" $sasl.username) }}
{{- with $sasl.existingSecret }}
{{- $_ := set $env "KAFKA_SASL_PASSWORD_FILE" "/etc/calltrack/kafka/sasl/password" }}
{{- $volumes = append $volumes (dict "name" "kafka-sasl" "secret" (dict "secretName" . "defaultMode" 288 "items" (list (dict "key" ($sasl.passwordKey | default "password") "path" "password")))) }}
{{- $mounts = append $mounts (dict "name" "kafka-sasl" "mountPath" "/etc/calltrack/kafka/sasl" "readOnly" true) }}
{{- end }}
{{- end }}
{{- toYaml (dict "env" $env "volumes" $volumes "mounts" $mounts) }}
{{- end }}

{{/* True ("true") when the component reads KAFKA_SASL_PASSWORD as a variable from the release's (or the hook's) Secret. */}}
{{- define "calltrack.kafkaSaslPasswordFromEnv" -}}
{{- $v := .root.Values }}
{{- $strimziUsers := and $v.strimzi.users.enabled (ne .name "kafka-topics") }}
{{- if and $v.kafka.sasl.mechanism (not $strimziUsers) (not $v.kafka.sasl.existingSecret) }}true{{ end }}
{{- end }}
