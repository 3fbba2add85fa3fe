#!/usr/bin/env bash
# Developer helper for the GPU machine, for work on whole-model training
# speed. In one call: build build-gpu (sm_90), run the [cuda] tests of
# test_ops (TRAIN_PROFILE_TESTS, "" skips them) and test_nn, profile one
# training step under Nsight Compute (each kernel's GPU time summed by name,
# top TRAIN_PROFILE_TOP kernels), then time bench_train_throughput.
# Knobs: TRAIN_PROFILE_ARCH (default loglinear_mamba2), TRAIN_PROFILE_SHAPE
# (the profiled TxB, default 8192x2), THROUGHPUT_ARGS (the timed bench's
# arguments, default: that arch at 8192x2 and 2048x8, 10 steps).
set -uo pipefail
source "$(dirname "$0")/gpu_common.sh"
bash scripts/setup.sh >/dev/null 2>&1
arch=${TRAIN_PROFILE_ARCH:-loglinear_mamba2}
t0=$(date +%s)
gpu_build || exit 1
echo "build: $(($(date +%s) - t0)) s"
filter=${TRAIN_PROFILE_TESTS-"[cuda]~[long]"}
if [ -n "$filter" ]; then
  build-gpu/tests/test_ops "$filter" >"$out/test_ops.log" 2>&1; echo "test_ops $filter rc=$?: $(tail -n 2 "$out/test_ops.log" | tr '\n' ' ')"
  build-gpu/tests/test_nn >"$out/test_nn.log" 2>&1; echo "test_nn rc=$?: $(tail -n 2 "$out/test_nn.log" | tr '\n' ' ')"
  grep -B3 -A12 "FAILED" "$out/test_ops.log" "$out/test_nn.log" | head -60
fi
ncu_bin=$(command -v ncu || echo /usr/local/cuda/bin/ncu)
if [ -x "$ncu_bin" ]; then
  timeout 300 "$ncu_bin" --profile-from-start off --metrics gpu__time_duration.sum --csv \
    build-gpu/bench/bench_train_throughput --arch "$arch" --shape "${TRAIN_PROFILE_SHAPE:-8192x2}" --steps 2 --profile \
    >"$out/train_kernels.csv" 2>"$out/train_ncu.log"
  echo; echo "top kernels by GPU time, one $arch training step (${TRAIN_PROFILE_SHAPE:-8192x2}, bf16-mixed; ncu, kernels serialised):"
  python3 scripts/kernel_table.py "$out/train_kernels.csv" "${TRAIN_PROFILE_TOP:-30}"
fi
echo
build-gpu/bench/bench_train_throughput ${THROUGHPUT_ARGS:---arch $arch --shape 8192x2,2048x8 --steps 10}
