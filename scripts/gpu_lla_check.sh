#!/usr/bin/env bash
# Developer helper for the GPU machine, for work on the log-linear CUDA
# kernels. In one call: build build-gpu (sm_90), run the whole ctest suite,
# compute-sanitizer memcheck and racecheck over the [cuda] log_linear_attention
# tests (every registered kernel version), count tensor-core instructions in
# the kernels' SASS, and run bench_loglinear_cuda. Logs go to $OUT.
# Knobs: LLA_TESTS=0 skips ctest; LLA_SANITIZE=0 skips the sanitizers;
# LOGLINEAR_ARGS is passed to the bench (default: --versions v1,v2 --runs 5).
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-gpu_check}
mkdir -p "$out"
bash scripts/setup.sh >/dev/null 2>&1
t0=$(date +%s)
cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DLOGLIN_CUDA=ON \
  -DCMAKE_CUDA_ARCHITECTURES=${LOGLIN_CUDA_ARCH:-90} >"$out/configure.log" 2>&1 || { tail -30 "$out/configure.log"; exit 1; }
cmake --build build-gpu -j"$(nproc)" -- -k 0 >"$out/build.log" 2>&1 || { grep -E "error" -A5 "$out/build.log" | head -60; exit 1; }
t1=$(date +%s); echo "build: $((t1 - t0)) s"

if [ "${LLA_TESTS:-1}" != 0 ]; then
  timeout ${CTEST_TIMEOUT:-240} ctest --test-dir build-gpu -j"$(nproc)" --output-on-failure >"$out/ctest.log" 2>&1
  echo "ctest rc=$? ($(($(date +%s) - t1)) s)"; tail -n 3 "$out/ctest.log"
  grep -E "^\s+[0-9]+ - .*\((Failed|Timeout|SEGFAULT|Subprocess aborted|Exception)" "$out/ctest.log" | head -20
fi
lla_tests=(build-gpu/tests/test_ops "[cuda][log_linear_attention]")
if [ "${LLA_SANITIZE:-1}" != 0 ] && command -v compute-sanitizer >/dev/null; then
  for tool in memcheck racecheck; do
    t=$(date +%s)
    timeout ${SAN_TIMEOUT:-150} compute-sanitizer --tool $tool --error-exitcode 9 "${lla_tests[@]}" >"$out/$tool.log" 2>&1
    echo "$tool rc=$? ($(($(date +%s) - t)) s): $(grep -E "ERROR SUMMARY|RACECHECK SUMMARY|test cases" "$out/$tool.log" | tr '\n' ' ')"
    grep -m5 -E "Invalid|Race|hazard|Error" "$out/$tool.log"
  done
fi
# Tensor-core instructions per log-linear kernel (SASS must show HMMA / HGMMA).
cuobj=$(command -v cuobjdump || echo /usr/local/cuda/bin/cuobjdump)
obj=$(find build-gpu -name "v2_*cuda.cu.o" | head -3)
if [ -x "$cuobj" ] && [ -n "$obj" ]; then
  for o in $obj; do
    "$cuobj" -sass "$o" 2>/dev/null | awk -v f="$(basename "$o")" '/Function :/{fn=$3} /HMMA|HGMMA/{n[fn]++} END{for(k in n) printf "sass %s %s: %d tensor-core instructions\n", f, substr(k,1,60), n[k]}'
  done
fi
t2=$(date +%s)
timeout ${BENCH_TIMEOUT:-200} build-gpu/bench/bench_loglinear_cuda ${LOGLINEAR_ARGS:---versions v1,v2 --runs 5} >"$out/loglinear.md" 2>&1
echo "bench rc=$? ($(($(date +%s) - t2)) s)"
cat "$out/loglinear.md"
