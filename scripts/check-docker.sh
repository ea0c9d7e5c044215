#!/usr/bin/env bash
# Checks the Dockerfile and docker-compose.yml without a Docker engine:
#   Dockerfile: BuildKit's lint rules (what `docker build --check` runs, every stage parsed),
#     Node pinned to the version the project builds with, production as the default (last)
#     target beside embedded and demo, the OCI labels.
#   docker-compose.yml: loaded as `docker compose config` loads it (compose-go: the Compose
#     Specification's schema, interpolation, merging), with and without the demo profile;
#     the required secrets refused when missing; ports published on loopback only; one image
#     built once (a single `build`) that the six services and the topic job share, each service
#     picking itself with SERVICE; the demo profile playing against the stack.
# The two tools are built from the Go module proxy into .cache/bin the first time (pinned
# versions below; needs Go, about a minute for compose-config and three for dockerfile-lint
# on 2 cores); their sources are scripts/docker-check/*/main.go.
# Ends with "check-docker: OK" (exit 0) or "check-docker: FAIL (…)" (exit 1).
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$ROOT/node_modules/.bin:$PATH"
COMPOSE_GO_VERSION=v2.10.1
BUILDKIT_VERSION=v0.26.3
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

failures=()
fail() { failures+=("$1"); echo "  FAIL: $1"; }
pass() { echo "  ok: $1"; }
step() { echo "== $1"; }

# tool name module version → path of the built binary
tool() {
  local name=$1 module=$2 version=$3 bin="$ROOT/.cache/bin/$1-$3"
  if [ ! -x "$bin" ]; then
    if ! command -v go > /dev/null 2>&1; then
      echo "check-docker: FAIL (Go is not installed to build $name)" >&2
      return 1
    fi
    echo "  building $name ($module@$version) from the Go module proxy into .cache/bin …" >&2
    local src="$WORK/src-$name" started=$SECONDS
    mkdir -p "$src" "$ROOT/.cache/bin"
    cp "scripts/docker-check/$name/main.go" "$src/"
    if ! (cd "$src" && go mod init "calltrack/$name" > /dev/null 2>&1 && go get "$module@$version" > /dev/null 2>&1 && go mod tidy > /dev/null 2>&1 &&
      CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$bin" .) >&2; then
      echo "check-docker: FAIL (could not build $name)" >&2
      return 1
    fi
    echo "  built in $((SECONDS - started)) s" >&2
  fi
  echo "$bin"
}

step "tools"
LINT="$(tool dockerfile-lint github.com/moby/buildkit "$BUILDKIT_VERSION")" || exit 1
COMPOSE="$(tool compose-config github.com/compose-spec/compose-go/v2 "$COMPOSE_GO_VERSION")" || exit 1
pass "dockerfile-lint (BuildKit $BUILDKIT_VERSION), compose-config (compose-go $COMPOSE_GO_VERSION)"

# --- Dockerfile ------------------------------------------------------------------------
step "Dockerfile"
if "$LINT" Dockerfile > "$WORK/lint.txt" 2>&1; then
  pass "BuildKit lint: no warnings, every stage parses"
else
  fail "BuildKit lint: $(tr '\n' ' ' < "$WORK/lint.txt")"
fi
printf 'FROM node:24 as Base\nCMD node main.js\n' > "$WORK/Dockerfile.bad"
if "$LINT" "$WORK/Dockerfile.bad" > /dev/null 2>&1; then fail "the lint passed a Dockerfile it must refuse"; else pass "the lint refuses a bad Dockerfile"; fi
node_version=$(node -p "require('./package.json').devDependencies.node")
if grep -q -E "^ARG NODE_IMAGE=node:${node_version//./\\.}-" Dockerfile; then
  pass "Node image pinned to $node_version (package.json devDependency \"node\")"
else
  fail "ARG NODE_IMAGE is not node:$node_version-… (package.json devDependency \"node\")"
fi
last_stage=$(grep -E '^FROM ' Dockerfile | tail -1 | awk '{print $NF}')
if [ "$last_stage" = production ]; then pass "production is the default (last) target"; else fail "the last stage is '$last_stage', not production"; fi
for target in embedded demo deps-production deps-embedded; do
  grep -q -E "^FROM .* AS $target\$" Dockerfile || fail "no $target stage"
done
for label in title source version revision licenses; do
  grep -q "org.opencontainers.image.$label=" Dockerfile || fail "no org.opencontainers.image.$label label"
done
pass "targets and OCI labels present"

# --- docker-compose.yml ----------------------------------------------------------------
step "docker-compose.yml"
secrets=(ADMIN_TOKEN=check-admin-token-0123456789abcdef CLICKHOUSE_PASSWORD=checkPassword0123)
if env -i PATH="$PATH" HOME="$HOME" "${secrets[@]}" "$COMPOSE" docker-compose.yml > "$WORK/default.json" 2> "$WORK/default.err"; then
  pass "loads (schema, interpolation)"
else
  fail "does not load: $(tr '\n' ' ' < "$WORK/default.err")"
fi
if env -i PATH="$PATH" HOME="$HOME" "${secrets[@]}" "$COMPOSE" docker-compose.yml demo > "$WORK/demo.json" 2> "$WORK/demo.err"; then
  pass "loads with the demo profile"
else
  fail "does not load with the demo profile: $(tr '\n' ' ' < "$WORK/demo.err")"
fi
if env -i PATH="$PATH" HOME="$HOME" CLICKHOUSE_PASSWORD=x "$COMPOSE" docker-compose.yml > /dev/null 2> "$WORK/missing.err"; then
  fail "loads without ADMIN_TOKEN"
elif grep -q "set ADMIN_TOKEN in .env" "$WORK/missing.err"; then
  pass "refuses to load without ADMIN_TOKEN, saying what to do"
else
  fail "without ADMIN_TOKEN: unexpected error $(tr '\n' ' ' < "$WORK/missing.err")"
fi
sed 's/^  jaeger:$/  jaeger:\n    restart_policy_typo: always/' docker-compose.yml > "$WORK/typo.yml"
if env -i PATH="$PATH" HOME="$HOME" "${secrets[@]}" "$COMPOSE" "$WORK/typo.yml" > /dev/null 2>&1; then
  fail "the schema accepted an unknown service key"
else
  pass "the schema refuses an unknown service key"
fi
if [ -s "$WORK/default.json" ] && [ -s "$WORK/demo.json" ]; then
  node - "$WORK/default.json" "$WORK/demo.json" > "$WORK/model.txt" 2>&1 << 'EOF'
const { readFileSync } = require('node:fs');
const [base, withDemo] = process.argv.slice(2).map((f) => JSON.parse(readFileSync(f, 'utf8')));
const problems = [];
const six = ['session-tracker', 'number-pool', 'telephony-ingest', 'attribution', 'conversion-export', 'antifraud'];
for (const project of [base, withDemo]) {
  for (const [name, svc] of Object.entries(project.services)) {
    for (const p of svc.ports ?? []) if (p.host_ip !== '127.0.0.1') problems.push(`${name} publishes ${p.published} on ${p.host_ip ?? 'every interface'}`);
  }
}
const builders = Object.entries(base.services).filter(([, s]) => s.build);
if (builders.length !== 1 || builders[0][0] !== 'kafka-topics') problems.push(`expected one build (kafka-topics), got: ${builders.map(([n]) => n).join(', ')}`);
const image = base.services['kafka-topics']?.image;
if (!image) problems.push('kafka-topics builds no named image');
for (const name of six) {
  const svc = base.services[name];
  if (!svc) { problems.push(`no ${name} service`); continue; }
  if (svc.image !== image) problems.push(`${name} runs ${svc.image}, not the one image ${image}`);
  if (svc.build) problems.push(`${name} builds its own image`);
  if (svc.environment?.SERVICE !== name) problems.push(`${name} does not set SERVICE=${name}`);
}
if (base.services.demo) problems.push('the demo runs without its profile');
const demo = withDemo.services.demo;
if (!demo) problems.push('no demo service in the demo profile');
else {
  if (demo.build?.target !== 'demo') problems.push('the demo is not built from the Dockerfile target demo');
  if (demo.environment?.DEMO_PLATFORM !== 'compose') problems.push('the demo does not play against the compose stack (DEMO_PLATFORM=compose)');
  for (const name of six) if (demo.depends_on?.[name]?.condition !== 'service_healthy') problems.push(`the demo does not wait for ${name} to be healthy`);
}
if (problems.length) { console.log([...new Set(problems)].join('\n')); process.exit(1); }
console.log(`one image (${image}) built once for ${six.length} services and the topic job; ports on 127.0.0.1; demo profile ok`);
EOF
  if [ $? -eq 0 ]; then pass "$(cat "$WORK/model.txt")"; else while read -r line; do fail "$line"; done < "$WORK/model.txt"; fi
fi

echo
if [ ${#failures[@]} = 0 ]; then
  echo "check-docker: OK"
  exit 0
fi
echo "check-docker: FAIL (${#failures[@]} problem(s)):"
printf '  - %s\n' "${failures[@]}"
exit 1
