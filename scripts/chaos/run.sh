#!/usr/bin/env bash
# `npm run chaos`: installs and builds what is missing (SKIP_SETUP=1 skips that), then runs
# the chaos run (scripts/chaos/run.mjs, docs/chaos.md) on its own broker, topics and data.
set -euo pipefail
source "$(dirname "$0")/../lib/env.sh"
cd "$ROOT"
if [[ "${SKIP_SETUP:-0}" != 1 ]]; then bash scripts/setup.sh; fi
bash scripts/kafka/fetch.sh
exec node scripts/chaos/run.mjs "$@"
