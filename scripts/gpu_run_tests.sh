#!/usr/bin/env bash
# Developer helper for the GPU machine: rebuild build-gpu incrementally and
# run the given test programs/filters one by one, each with its full output
# in $OUT/<n>.log and its exit status in the summary. Usage:
#   scripts/gpu_run_tests.sh "test_ops|[cuda][attention]" "test_core|[cuda]" ...
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-gpu_check}
mkdir -p "$out"
[ -d build-gpu ] || cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DLOGLIN_CUDA=ON \
  -DCMAKE_CUDA_ARCHITECTURES=${LOGLIN_CUDA_ARCH:-90} >"$out/configure.log" 2>&1 || { tail -30 "$out/configure.log"; exit 1; }
cmake --build build-gpu -j"$(nproc)" >"$out/build.log" 2>&1 || { grep -E "error" -A5 "$out/build.log" | head -60; exit 1; }
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
