#!/usr/bin/env bash
# Developer helper for the GPU machine: rebuild build-gpu incrementally and
# run the given test programs/filters one by one, each with its full output
# in $OUT/<n>.log and its exit status in the summary. Usage:
#   scripts/gpu_run_tests.sh "test_ops|[cuda][attention]" "test_core|[cuda]" ...
set -uo pipefail
source "$(dirname "$0")/gpu_common.sh"
gpu_info
[ -d build-gpu ] || gpu_configure || exit 1
gpu_compile || exit 1
n=0
for spec in "$@"; do
  n=$((n + 1))
  prog=${spec%%|*}
  filter=${spec#*|}
  stdbuf -oL -eL build-gpu/tests/$prog "$filter" >"$out/$n.log" 2>&1
  rc=$?
  echo "== $n: $prog \"$filter\" rc=$rc"
  grep -E "FAILED|with expansion|^  .*[<>=]|due to|exception|Segmentation|Aborted|what\(\)|test cases" "$out/$n.log" | head -${LINES_PER:-25}
done
