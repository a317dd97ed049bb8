#!/usr/bin/env bash
# Unzipped size of what `sam build` produced (function + every layer) against Lambda's 250 MB limit.
#   local/size-report.sh [BUILD_DIR]        (default .aws-sam/build; run `sam build` first)
set -euo pipefail
build="${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.aws-sam/build}"
limit_mb=250
[[ -f "$build/template.yaml" ]] || { echo "no $build/template.yaml: run sam build first" >&2; exit 2; }
total=0
for dir in "$build"/*/; do
  name="$(basename "$dir")"
  bytes="$(du -s -B1 --apparent-size "$dir" | cut -f1)"   # Lambda counts file sizes, not disk blocks
  total=$((total + bytes))
  awk -v n="$name" -v b="$bytes" 'BEGIN { printf "  %-22s %8.1f MB\n", n, b / 1048576 }'
done
pct=$((total * 100 / (limit_mb * 1048576)))
awk -v b="$total" -v l="$limit_mb" -v p="$pct" 'BEGIN { printf "  %-22s %8.1f MB of %d MB (%d%%)\n", "TOTAL (unzipped)", b / 1048576, l, p }'
if (( total > limit_mb * 1048576 )); then echo "OVER Lambda's limit" >&2; exit 1; fi
