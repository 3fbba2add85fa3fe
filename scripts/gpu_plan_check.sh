#!/usr/bin/env bash
# The check for the plan/registry refactor (issue [1/6]) on the GPU machine,
# in one call: build everything for sm_90, run every [cuda] test program,
# compute-sanitizer memcheck over the kernel-version tests (every registered
# version of every op against the CPU) and the gated delta rule's CUDA tests,
# then the peers (bench/peers/lla_peers.py) and bench_loglinear_cuda's table
# for v2 beside them, and print a short summary last. Logs in $OUT (or gpu_check).
#   PLAN_CHECK_BENCH=0 skips the benchmark; BENCH_ARGS overrides its arguments.
set -uo pipefail
source "$(dirname "$0")/gpu_common.sh"
start=$(date +%s)
gpu_build test_ops test_nn test_core test_train bench_loglinear_cuda loglin_cli || exit 1
built=$(date +%s)

results=()
run_tests() {
for spec in "$@"; do
  prog=${spec%%|*}
  filter=${spec#*|}
  log="$out/$prog.log"
  timeout ${TEST_TIMEOUT:-300} build-gpu/tests/$prog "$filter" >"$log" 2>&1
  rc=$?
  results+=("| $prog \"$filter\" | rc $rc | $(grep -E '^(All tests passed|test cases:)' "$log" | tail -1) |")
  [ $rc -eq 0 ] || grep -E "FAILED|with expansion|due to|exception|what\(\)" -A3 "$log" | head -30
done
}
run_tests "test_ops|[cuda]~[long]"
tested=$(date +%s)

if [ "${PLAN_CHECK_BENCH:-1}" != 0 ]; then
  # The peers first, in this same call (FLA_DIR: the reference package, carried as .peers).
  FLA_DIR=${FLA_DIR:-.peers} timeout 300 python3 bench/peers/lla_peers.py --out "$out/lla_peers.csv" \
    >"$out/lla_peers.log" 2>&1 || echo "the peer script failed: $(tail -3 "$out/lla_peers.log")"
  timeout 300 build-gpu/bench/bench_loglinear_cuda ${BENCH_ARGS:---versions v2 --runs 5} --peers "$out/lla_peers.csv" \
    >"$out/loglinear.md" 2>&1
  echo
  cat "$out/loglinear.md"
fi
benched=$(date +%s)
run_tests "test_nn|[cuda]" "test_core|[cuda]" "test_train|[cuda]"
sanitizer=skipped
if command -v compute-sanitizer >/dev/null; then
  sanitizer=clean
  compute-sanitizer --tool memcheck --error-exitcode 9 build-gpu/tests/test_ops "[kernel_versions]" \
    >"$out/sanitizer.log" 2>&1 || sanitizer="ERRORS (see sanitizer.log)"
  compute-sanitizer --tool memcheck --error-exitcode 9 build-gpu/tests/test_ops "[cuda][gated_delta_rule]" \
    >"$out/sanitizer_gdr.log" 2>&1 || sanitizer="$sanitizer; gated_delta_rule ERRORS (see sanitizer_gdr.log)"
  tail -3 "$out/sanitizer.log"
fi
sanitized=$(date +%s)


echo
LOGLIN_EXPLAIN=1 build-gpu/loglin kernels
echo
gpu_info
echo "| test program | result | summary |"
echo "|---|---|---|"
printf '%s\n' "${results[@]}"
echo "| compute-sanitizer memcheck [kernel_versions], [cuda][gated_delta_rule] | $sanitizer | |"
echo "| seconds: build $((built - start)), tests $((tested - built)), bench $((benched - tested)), other tests + sanitizer $((sanitized - benched)) | | |"
