#!/usr/bin/env bash
# Run from the repo root on a GPU machine. In one call: configure for sm_90
# (LOGLIN_CUDA_ARCH overrides) with CUDA on, build with ninja, run the whole
# test suite ([cuda] tests included), run compute-sanitizer memcheck over the
# [cuda] op tests, run the GPU benchmarks, and print a summary table last.
# Logs go to $OUT (or ./gpu_check). GPU_CHECK_BENCH=0 skips the benchmarks;
# GPU_CHECK_TESTS=0 skips tests and sanitizer (benchmarks only).
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-gpu_check}
mkdir -p "$out"
bash scripts/setup.sh
start=$(date +%s)
cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DLOGLIN_CUDA=ON \
  -DCMAKE_CUDA_ARCHITECTURES=${LOGLIN_CUDA_ARCH:-90} >"$out/configure.log" 2>&1 || { tail -30 "$out/configure.log"; exit 1; }
cmake --build build-gpu -j"$(nproc)" -- -k 0 >"$out/build.log" 2>&1 || { grep -E "error" -A5 "$out/build.log" | head -60; exit 1; }
built=$(date +%s)

test_rc=0
sanitizer=skipped
if [ "${GPU_CHECK_TESTS:-1}" != 0 ]; then
  ctest --test-dir build-gpu -j"$(nproc)" --output-on-failure >"$out/ctest.log" 2>&1
  test_rc=$?
  if command -v compute-sanitizer >/dev/null; then
    sanitizer=clean
    compute-sanitizer --tool memcheck --error-exitcode 9 build-gpu/tests/test_ops "[cuda]" >"$out/sanitizer.log" 2>&1 ||
      sanitizer=ERRORS
  fi
fi
tested=$(date +%s)

if [ "${GPU_CHECK_BENCH:-1}" != 0 ]; then
  timeout ${BENCH_TIMEOUT:-900} build-gpu/bench/bench_train_throughput ${THROUGHPUT_ARGS:-} >"$out/train_throughput.md" 2>&1
  [ -x build-gpu/bench/bench_attention_cuda ] && build-gpu/bench/bench_attention_cuda >"$out/attention.md" 2>&1
  # The per-kernel profile of the Transformer step (nsys, when present).
  if command -v nsys >/dev/null; then
    nsys profile --force-overwrite true -o "$out/transformer_step" build-gpu/bench/bench_train_throughput \
      --arch transformer --shape 2048x8 --steps 5 >/dev/null 2>&1 &&
      nsys stats --report cuda_gpu_kern_sum --format csv "$out/transformer_step.nsys-rep" >"$out/kernels.csv" 2>/dev/null
  fi
fi
benched=$(date +%s)

nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | head -1 | sed 's/^/gpu: /'
build-gpu/loglin version
[ -f "$out/ctest.log" ] && tail -n 3 "$out/ctest.log"
for f in attention.md train_throughput.md; do [ -s "$out/$f" ] && { echo; cat "$out/$f"; }; done
if [ -s "$out/kernels.csv" ]; then
  echo
  echo "top kernels by GPU time (transformer, T=2048 B=8, 8 steps incl. warm-up):"
  python3 - "$out/kernels.csv" <<'PY'
import csv, sys
rows = [r for r in csv.reader(open(sys.argv[1])) if r]
hdr = next(i for i, r in enumerate(rows) if r and r[0].startswith("Time"))
for r in rows[hdr + 1:hdr + 16]:
    print(f"| {float(r[0]):5.1f}% | {int(r[1]) / 1e6:8.1f} ms | {r[2]:>6} calls | {r[-1][:90]} |")
PY
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
