#!/usr/bin/env bash
# Generates libs/proto/generated from proto/**/*.proto with protobufjs-cli
# (static module, ES module wrapper, plus TypeScript declarations). The output
# is not committed; every build regenerates it, so it cannot drift.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
out=libs/proto/generated
mkdir -p "$out"
mapfile -t files < <(find proto -name '*.proto' | sort)
stamp="$out/.inputs.sha256"
sum=$(cat "${files[@]}" scripts/gen-proto.sh | sha256sum | cut -d' ' -f1)
if [[ -f "$stamp" && "$(cat "$stamp")" == "$sum" && -f "$out/proto.js" && -f "$out/proto.d.ts" ]]; then
  exit 0
fi
bin=node_modules/.bin
# --force-number: int64 fields are JS numbers (epoch milliseconds fit in 2^53).
"$bin/pbjs" -t static-module -w es6 --force-number --no-beautify -p proto -o "$out/proto.js" "${files[@]}"
"$bin/pbts" -o "$out/proto.d.ts" "$out/proto.js"
# pbjs's es6 wrapper imports "protobufjs/minimal" without the extension Node's ESM resolver needs.
sed -i 's#from "protobufjs/minimal"#from "protobufjs/minimal.js"#' "$out/proto.js"
echo "$sum" > "$stamp"
echo "generated $out from ${#files[@]} proto files"
