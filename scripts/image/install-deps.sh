#!/usr/bin/env bash
# Installs the production dependencies of the six services into the current directory,
# which holds the root package.json, package-lock.json and the workspaces' package.json
# files (the Dockerfile's deps stages run it; scripts/image/measure.sh runs it in a temp
# copy to state the sizes). Usage: install-deps.sh production|embedded
#   production: no dev and no optional packages (chdb, the embedded engine, is optional)
#   embedded:   the same plus optional packages (chdb and its 543 MB native library)
# Only the services' workspaces and what they use: no test workspaces (tests/*, libs/testing),
# no install scripts. Type declarations, source maps, TypeScript sources and docs inside
# packages go; licence files stay.
set -euo pipefail
variant="${1:?usage: install-deps.sh production|embedded}"
omit=(--omit=dev)
case "$variant" in
  production) omit+=(--omit=optional) ;;
  embedded) ;;
  *) echo "unknown variant: $variant" >&2; exit 64 ;;
esac
workspaces=()
for svc in session-tracker number-pool telephony-ingest attribution conversion-export antifraud; do
  workspaces+=("--workspace=services/$svc")
done
npm ci "${omit[@]}" --ignore-scripts --no-audit --no-fund "${workspaces[@]}"
rm -rf tests libs/testing nx.json
find node_modules -type f \( -name '*.map' -o -name '*.md' -o -name '*.ts' -o -name '*.mts' -o -name '*.cts' \) \
  ! -iname 'licen[cs]e*' ! -iname 'notice*' ! -iname 'copying*' -delete
# Links to workspaces that are not installed (tests, libs/testing) would dangle.
find node_modules -xtype l -delete
if [[ $variant == production ]]; then
  test ! -e node_modules/chdb || { echo "chdb must not be in the production dependencies" >&2; exit 1; }
else
  test -d node_modules/chdb || { echo "chdb is missing from the embedded dependencies" >&2; exit 1; }
fi
