#!/usr/bin/env bash
# Run from the repo root on a GPU machine: configure for sm_90 with CUDA on,
# build with ninja, run the whole test suite ([cuda] tests included), then
# print a short summary table. Output directory for logs: $OUT or ./gpu_check.
# compute-sanitizer memcheck runs over every [cuda] test. (Kernel benchmarks
# join this script with the CUDA kernels, steps 4/6 and 5/6.)
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
ctest --test-dir build-gpu -j"$(nproc)" --output-on-failure >"$out/ctest.log" 2>&1
test_rc=$?
done_t=$(date +%s)
# compute-sanitizer memcheck over every [cuda] test of every test program.
sanitizer=skipped
if command -v compute-sanitizer >/dev/null; then
  sanitizer=clean
  for t in build-gpu/tests/test_*; do
    [ -x "$t" ] && "$t" --list-tags 2>/dev/null | grep -q "\[cuda\]" || continue
    compute-sanitizer --tool memcheck --error-exitcode 9 "$t" "[cuda]" >>"$out/sanitizer.log" 2>&1 || sanitizer=ERRORS
  done
fi
san_t=$(date +%s)
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | head -1 | sed 's/^/gpu: /'
build-gpu/loglin version
tail -n 3 "$out/ctest.log"
echo
echo "| step | result | seconds |"
echo "|---|---|---:|"
echo "| configure + build (sm_${LOGLIN_CUDA_ARCH:-90}) | ok | $((built - start)) |"
echo "| ctest (all tests) | $([ $test_rc -eq 0 ] && echo pass || echo FAIL) | $((done_t - built)) |"
echo "| compute-sanitizer memcheck on [cuda] tests | $sanitizer | $((san_t - done_t)) |"
[ "$sanitizer" != ERRORS ] || exit 9
exit $test_rc
