#!/usr/bin/env bash
# Developer helper for the GPU machine: the TF32 and head-dim-256 paths of
# log_linear_attention in one call. Builds build-gpu (sm_90), runs the
# [cuda] log-linear and scalar-decay tests, then times: the PEERS.md table's
# T = 1024 rows for v1 and v2 (bf16, f32, f32 with TF32), v2 at head dims
# with a 256, and whole training steps with precision tf32 (and f32 for
# log-linear Mamba-2). Logs go to $OUT (default gpu_check); tables print last.
# Knobs: TF32_TESTS=0 skips the tests; TRAIN_SHAPE (default 8192x2).
set -uo pipefail
source "$(dirname "$0")/gpu_common.sh"
bash scripts/setup.sh >/dev/null 2>&1
t0=$(date +%s)
gpu_build || exit 1
echo "build: $(($(date +%s) - t0)) s"

if [ "${TF32_TESTS:-1}" != 0 ]; then
  for filter in "[cuda][log_linear_attention]~[long]" "[cuda][scalar_decay]"; do
    t=$(date +%s)
    timeout 300 build-gpu/tests/test_ops "$filter" >"$out/tests.log" 2>&1
    echo "test_ops $filter rc=$? ($(($(date +%s) - t)) s): $(tail -n 2 "$out/tests.log" | tr '\n' ' ')"
    grep -B3 -A10 "FAILED" "$out/tests.log" | head -40
  done
fi

bench=build-gpu/bench/bench_loglinear_cuda
{
  echo "### bench_loglinear_cuda --versions v1,v2 --runs 5 --max-T 1024"
  timeout 120 $bench --versions v1,v2 --runs 5 --max-T 1024 | grep -E "^\| (T|1024)"
  for d in 256,64 64,256 256,256; do
    echo; echo "### bench_loglinear_cuda --versions v2 --runs 5 --max-T 8192 --dims $d"
    timeout 120 $bench --versions v2 --runs 5 --max-T 8192 --dims $d | grep -E "^\| [0-9T]"
  done
  echo; echo "### bench_train_throughput --shape ${TRAIN_SHAPE:-8192x2} --steps 10"
  for p in tf32 f32; do
    archs="transformer mamba2 loglinear_mamba2"
    [ "$p" = f32 ] && archs=loglinear_mamba2
    for a in $archs; do
      timeout 150 build-gpu/bench/bench_train_throughput --arch "$a" --shape "${TRAIN_SHAPE:-8192x2}" --precision "$p" \
        --steps 10 | grep -E "^\| $a"
    done
  done
} >"$out/tables.md" 2>&1
cat "$out/tables.md"
