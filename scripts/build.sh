#!/usr/bin/env bash
# Generates the protobuf contracts and compiles every lib and service (tsc -b, incremental).
set -euo pipefail
source "$(dirname "$0")/lib/env.sh"
cd "$ROOT"
bash scripts/gen-proto.sh
tsc -b
node scripts/build-tracker.mjs
