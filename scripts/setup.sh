#!/usr/bin/env bash
# Installs everything the project needs from the npm registry and Maven Central:
# node_modules (including Node 24 itself), generated contracts, the compiled
# workspace and the Apache Kafka jars. Safe to run again; skips what is current.
set -euo pipefail
source "$(dirname "$0")/lib/env.sh"
cd "$ROOT"
marker=node_modules/.calltrack-install.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ ! -x node_modules/.bin/node || ! -f $marker || "$(cat $marker)" != "$want" ]]; then
  log "installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" > $marker
fi
log "node $(node -v) from $(command -v node)"
bash scripts/build.sh
bash scripts/kafka/fetch.sh
# The tracker's browser tests drive Debian's Chromium (playwright-core downloads no browser).
if [[ ! -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ]]; then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    log "installing Debian's chromium for the browser tests"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || log "chromium could not be installed: the browser tests will fail"
  else
    log "chromium is missing: install Debian's package (sudo apt-get install chromium) or set CHROMIUM_PATH"
  fi
fi
