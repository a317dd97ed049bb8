#!/usr/bin/env bash
# Unzipped size of what `sam build` produced (function + every layer) against Lambda's 250 MB limit,
# for both deployments the template allows:
#   ScikitLearnRuntime=attached  everything in the build (the general scikit-learn runtime included)
#   ScikitLearnRuntime=none      the same without ScikitLearnLayer
#   linear versions only         none, and no pipeline-only version (e.g. v3) in the models layer: what a
#                                deployment serving only fast-path versions ships (the figure before v3)
# Exits 1 if a deployment that this build can make is over the limit.
#   local/size-report.sh [BUILD_DIR]        (default .aws-sam/build; run `sam build` first)
# Every folder counts, the pre-traffic hook function too (a separate function of a few KB: a slight
# overcount, on the safe side).
set -euo pipefail
build="${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.aws-sam/build}"
limit_mb=250
optional_layer=ScikitLearnLayer # attached only with ScikitLearnRuntime=attached
[[ -f "$build/template.yaml" ]] || { echo "no $build/template.yaml: run sam build first" >&2; exit 2; }

mb() { awk -v b="$1" 'BEGIN { printf "%8.1f MB", b / 1048576 }'; }
total=0
optional=0
for dir in "$build"/*/; do
  name="$(basename "$dir")"
  bytes="$(du -s -B1 --apparent-size "$dir" | cut -f1)" # Lambda counts file sizes, not disk blocks
  total=$((total + bytes))
  note=""
  if [[ "$name" == "$optional_layer" ]]; then
    optional=$bytes
    note="   (only with ScikitLearnRuntime=attached)"
  fi
  printf "  %-36s %s%s\n" "$name" "$(mb "$bytes")" "$note"
done

over=()
report() { # ScikitLearnRuntime value, bytes, what it is
  local pct=$(($2 * 100 / (limit_mb * 1048576)))
  printf "  %-46s %s of %d MB (%d%%)  %s\n" "TOTAL ScikitLearnRuntime=$1" "$(mb "$2")" "$limit_mb" "$pct" "$3"
  if (($2 > limit_mb * 1048576)); then over+=("ScikitLearnRuntime=$1"); fi
}
if [[ -d "$build/$optional_layer" ]]; then
  report attached "$total" "general runtime"
else
  echo "  (no $optional_layer in this build: ScikitLearnRuntime=attached cannot be deployed from it)"
fi
report none "$((total - optional))" "pipeline versions fall back (incompatible)"
# Version folders whose preferred artifact needs the scikit-learn runtime (dead weight without it).
pipeline_only=0
for manifest in "$build"/ModelsLayer/models/*/manifest.json; do
  [[ -f "$manifest" ]] || continue
  if python3 -c 'import json, sys; sys.exit(json.load(open(sys.argv[1]))["artifact"]["format"] != "sklearn-joblib/1")' \
    "$manifest"; then
    pipeline_only=$((pipeline_only + $(du -s -B1 --apparent-size "$(dirname "$manifest")" | cut -f1)))
  fi
done
report "none, linear versions only" "$((total - optional - pipeline_only))" "no pipeline-only version in the models layer"
if ((${#over[@]})); then
  echo "OVER Lambda's limit of $limit_mb MB unzipped with ${over[*]}" >&2
  exit 1
fi
