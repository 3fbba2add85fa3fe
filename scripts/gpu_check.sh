#!/usr/bin/env bash
# Run from the repo root on a GPU machine. In one call: configure for sm_90
# (LOGLIN_CUDA_ARCH overrides) with CUDA on, build with ninja, run the whole
# test suite ([cuda] tests included), run compute-sanitizer memcheck over the
# [cuda] op tests, run the GPU benchmarks, and print a summary table last.
# Logs go to $OUT (or ./gpu_check). GPU_CHECK_BENCH=0 skips the benchmarks;
# GPU_CHECK_TESTS=0 skips tests and sanitizer (benchmarks only); GPU_CHECK_NCU=0
# skips the Nsight Compute profile.
set -uo pipefail
source "$(dirname "$0")/gpu_common.sh"
bash scripts/setup.sh
start=$(date +%s)
{ gpu_configure && gpu_compile; } || exit 1
built=$(date +%s)

test_rc=0
sanitizer=skipped
if [ "${GPU_CHECK_TESTS:-1}" != 0 ]; then
  ctest --test-dir build-gpu -j"$(nproc)" --output-on-failure >"$out/ctest.log" 2>&1
  test_rc=$?
  if command -v compute-sanitizer >/dev/null; then
    sanitizer=clean
    # [long]: the T = 2^20 case, minutes under the sanitizer; the plain ctest run covers it.
    compute-sanitizer --tool memcheck --error-exitcode 9 build-gpu/tests/test_ops "[cuda]~[long]" >"$out/sanitizer.log" 2>&1 ||
      sanitizer=ERRORS
  fi
fi
tested=$(date +%s)

if [ "${GPU_CHECK_BENCH:-1}" != 0 ]; then
  # The PyTorch Llama peer first, in this same call; its CSV goes beside our rows.
  timeout ${BENCH_TIMEOUT:-900} python3 bench/peers/train_peers.py --out "$out/train_peers.csv" >"$out/train_peers.log" 2>&1 ||
    echo "the training peer failed: $(tail -3 "$out/train_peers.log")"
  timeout ${BENCH_TIMEOUT:-900} build-gpu/bench/bench_train_throughput ${THROUGHPUT_ARGS:-} --peers "$out/train_peers.csv" \
    >"$out/train_throughput.md" 2>&1
  [ -x build-gpu/bench/bench_attention_cuda ] && build-gpu/bench/bench_attention_cuda >"$out/attention.md" 2>&1
  [ -x build-gpu/bench/bench_conv1d_cuda ] && build-gpu/bench/bench_conv1d_cuda >"$out/conv1d.md" 2>&1
  # log_linear_attention vs the peer of PEERS.md, every registered kernel version.
  [ -x build-gpu/bench/bench_loglinear_cuda ] &&
    timeout ${BENCH_TIMEOUT:-900} build-gpu/bench/bench_loglinear_cuda ${LOGLINEAR_ARGS:-} >"$out/loglinear.md" 2>&1
  # The per-kernel profile of one Transformer step (Nsight Compute, when present):
  # each kernel's GPU time, summed by kernel name.
  ncu_bin=$(command -v ncu || echo /usr/local/cuda/bin/ncu)
  if [ -x "$ncu_bin" ] && [ "${GPU_CHECK_NCU:-1}" != 0 ]; then
    timeout 400 "$ncu_bin" --profile-from-start off --metrics gpu__time_duration.sum --csv \
      build-gpu/bench/bench_train_throughput --arch transformer --shape 2048x8 --steps 2 --profile \
      >"$out/kernels.csv" 2>"$out/ncu.log"
  fi
fi
benched=$(date +%s)

gpu_info
build-gpu/loglin version
[ -f "$out/ctest.log" ] && tail -n 3 "$out/ctest.log"
for f in attention.md conv1d.md loglinear.md train_throughput.md; do [ -s "$out/$f" ] && { echo; cat "$out/$f"; }; done
if [ -s "$out/kernels.csv" ]; then
  echo
  echo "top kernels by GPU time, one Transformer training step (T=2048, B=8, bf16-mixed; ncu, kernels serialised):"
  python3 scripts/kernel_table.py "$out/kernels.csv"
fi
echo
echo "| step | result | seconds |"
echo "|---|---|---:|"
echo "| configure + build (sm_${LOGLIN_CUDA_ARCH:-90}) | ok | $((built - start)) |"
echo "| ctest (all tests) | $([ "${GPU_CHECK_TESTS:-1}" = 0 ] && echo skipped || { [ $test_rc -eq 0 ] && echo pass || echo FAIL; }) | $((tested - built)) |"
echo "| compute-sanitizer memcheck on test_ops [cuda] | $sanitizer | (in ctest row) |"
echo "| benchmarks | $([ "${GPU_CHECK_BENCH:-1}" = 0 ] && echo skipped || echo run) | $((benched - tested)) |"
[ "$sanitizer" != ERRORS ] || exit 9
exit $test_rc
