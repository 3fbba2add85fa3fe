#!/usr/bin/env bash
# Developer helper for the GPU machine, for work on the log-linear CUDA
# kernels. In one call: build build-gpu (sm_90), run the whole ctest suite,
# compute-sanitizer memcheck and racecheck over the [cuda] log_linear_attention
# tests (every registered kernel version), count tensor-core instructions in
# the kernels' SASS, and run bench_loglinear_cuda. Logs go to $OUT.
# Knobs: LLA_TESTS=0 skips ctest; LLA_SANITIZE=0 skips the sanitizers, LLA_SANITIZERS
# picks them (default "memcheck racecheck"), LLA_FILTER the tests they run;
# LOGLINEAR_ARGS is passed to the bench (default: --versions v1,v2 --runs 5);
# LLA_PROFILE="1024 32768" adds an ncu kernel table per T.
set -uo pipefail
source "$(dirname "$0")/gpu_common.sh"
bash scripts/setup.sh >/dev/null 2>&1
t0=$(date +%s)
gpu_build || exit 1
t1=$(date +%s); echo "build: $((t1 - t0)) s"

if [ "${LLA_TESTS:-1}" != 0 ]; then
  timeout ${CTEST_TIMEOUT:-240} ctest --test-dir build-gpu -j"$(nproc)" --output-on-failure >"$out/ctest.log" 2>&1
  echo "ctest rc=$? ($(($(date +%s) - t1)) s)"; tail -n 3 "$out/ctest.log"
  grep -E "^\s+[0-9]+ - .*\((Failed|Timeout|SEGFAULT|Subprocess aborted|Exception)" "$out/ctest.log" | head -20
fi
lla_tests=(build-gpu/tests/test_ops "${LLA_FILTER:-[cuda][log_linear_attention]~[long]}")
if [ "${LLA_SANITIZE:-1}" != 0 ] && command -v compute-sanitizer >/dev/null; then
  for tool in ${LLA_SANITIZERS:-memcheck racecheck}; do
    t=$(date +%s)
    timeout ${SAN_TIMEOUT:-150} compute-sanitizer --tool $tool --error-exitcode 9 "${lla_tests[@]}" >"$out/$tool.log" 2>&1
    echo "$tool rc=$? ($(($(date +%s) - t)) s): $(grep -E "ERROR SUMMARY|RACECHECK SUMMARY|test cases" "$out/$tool.log" | tr '\n' ' ')"
    grep -m5 -E "Invalid|Race|hazard|Error" "$out/$tool.log"
  done
fi
# Tensor-core instructions per log-linear kernel (SASS must show HMMA / HGMMA).
cuobj=$(command -v cuobjdump || echo /usr/local/cuda/bin/cuobjdump)
obj=$(find build-gpu -name "v2_*cuda.cu.o")
if [ -x "$cuobj" ] && [ -n "$obj" ]; then
  for o in $obj; do
    "$cuobj" -sass "$o" 2>/dev/null | awk '
      /Function :/ { fn = "?"; if (match($0, /(fwd|bwd)_[a-z_]+_kernel(ILi[0-9]+ELi[0-9]+E(13__nv_bfloat16|f)E)?/)) fn = substr($0, RSTART, RLENGTH) }
      /HMMA|HGMMA/ { n[fn]++; if ($0 ~ /TF32/) tf[fn]++ }
      END { for (k in n) printf "sass %s: %d HMMA/HGMMA (%d TF32)\n", k, n[k], tf[k] }' | sort | grep -E "ILi128ELi64E|tree|push|dg" || true
  done
fi
# Per-kernel profile of one v2 forward + backward at each T of LLA_PROFILE
# (e.g. "1024 32768"): the bench's only-T row with one timed run, so the
# first 4 forwards (3 warm-up + 1) are skipped and the next 9 launches are
# the forward (4) and backward (5) of the first fwd+bwd.
ncu_bin=$(command -v ncu || echo /usr/local/cuda/bin/ncu)
for T in ${LLA_PROFILE:-}; do
  [ -x "$ncu_bin" ] || break
  timeout 240 "$ncu_bin" --clock-control none --kernel-name-base function --kernel-name regex:"fwd_|bwd_|cumdecay" \
    --launch-skip 16 --launch-count 9 --csv \
    --metrics gpu__time_duration.sum,sm__throughput.avg.pct_of_peak_sustained_elapsed,dram__throughput.avg.pct_of_peak_sustained_elapsed,sm__pipe_tensor_op_hmma_cycles_active.avg.pct_of_peak_sustained_elapsed,sm__warps_active.avg.pct_of_peak_sustained_active \
    build-gpu/bench/bench_loglinear_cuda --versions v2 --only-T "$T" --runs 1 >"$out/prof_$T.csv" 2>"$out/prof_$T.log"
  echo; echo "profile T=$T (v2 fwd then bwd; % of peak: sm, dram, tensor pipe; warps = achieved occupancy %):"
  python3 scripts/ncu_rows.py "$out/prof_$T.csv"
done
t2=$(date +%s)
timeout ${BENCH_TIMEOUT:-200} build-gpu/bench/bench_loglinear_cuda ${LOGLINEAR_ARGS:---versions v1,v2 --runs 5} >"$out/loglinear.md" 2>&1
echo "bench rc=$? ($(($(date +%s) - t2)) s)"
cat "$out/loglinear.md"
