#!/usr/bin/env bash
# On the GPU machine: the gated delta rule's CUDA versions, checked and timed
# in one call (issue [3/6]).
#   scripts/gpu_gdn_check.sh [test|bench|all]   (default all)
#   test:  build; the [gated_delta_rule] and kernel-version [cuda] tests;
#          compute-sanitizer memcheck and racecheck on the v2 tests.
#   bench: the peers (bench/peers/gdn_peers.py: the reference package's
#          chunk_gated_delta_rule and SDPA; FLA_DIR, default .peers, holds
#          the package, copied from ../shared/peers and carried), then
#          bench_gated_delta_rule_cuda with their CSV beside ours.
# Extra bench options: GDN_BENCH_ARGS="--T 1024,8192 --shapes 16x128x128" (and
# GDN_PEER_ARGS the same for the peers); GDN_SANITIZERS="memcheck" picks the
# sanitizer tools; with "all" the bench runs only if the call has used less
# than GDN_BENCH_BY seconds (default 330).
# Logs in $OUT (or gpu_check/); the tables print last.
set -uo pipefail
source "$(dirname "$0")/gpu_common.sh"
what=${1:-all}
status=0

gpu_build test_ops bench_gated_delta_rule_cuda || { echo "BUILD FAILED"; exit 1; }

# The SASS of v2's kernels: their products must be tensor-core instructions (HMMA).
for obj in build-gpu/CMakeFiles/loglin.dir/ops/gated_delta_rule/cuda_v2/*.cu.o; do
  [ -f "$obj" ] && command -v cuobjdump >/dev/null || continue
  echo "SASS $(basename "$obj"): $(cuobjdump -sass "$obj" | grep -c 'HMMA') HMMA instructions" \
    "($(cuobjdump -sass "$obj" | grep -o 'HMMA[.A-Z0-9]*' | sort -u | tr '\n' ' '))"
done

if [ "$what" = test ] || [ "$what" = all ]; then
  echo "== [cuda] tests: gated delta rule, kernel versions"
  timeout 300 build-gpu/tests/test_ops "[cuda][gated_delta_rule]" >"$out/test_gdr.log" 2>&1 || status=1
  timeout 200 build-gpu/tests/test_ops "[kernel_versions]" >"$out/test_versions.log" 2>&1 || status=1
  tail -3 "$out/test_gdr.log" "$out/test_versions.log"
  if [ $status -ne 0 ]; then
    grep -B3 -A12 "FAILED\|failed" "$out/test_gdr.log" "$out/test_versions.log" | head -120
  fi
  if command -v compute-sanitizer >/dev/null; then
    for tool in memcheck racecheck; do
      echo "== compute-sanitizer $tool on the v2 tests"
      timeout 150 compute-sanitizer --tool "$tool" --error-exitcode 9 build-gpu/tests/test_ops "gated_delta_rule cuda v2: varlen and states" \
        >"$out/sanitizer_$tool.log" 2>&1
      rc=$?
      if [ $rc -eq 124 ]; then echo "$tool: timed out after 150 s (no verdict)"; elif [ $rc -ne 0 ]; then status=1; fi
      tail -4 "$out/sanitizer_$tool.log"
    done
  else
    echo "compute-sanitizer not found"
  fi
fi

# "all" benches only when the call has time left (the device's per-call limit is 600 s).
if [ "$what" = all ] && [ "$SECONDS" -gt "${GDN_BENCH_BY:-330}" ]; then
  echo "== no time left for the bench in this call ($SECONDS s used)"
elif [ "$what" = bench ] || [ "$what" = all ]; then
  echo "== peers (same call)"
  FLA_DIR=${FLA_DIR:-.peers} timeout 300 python3 bench/peers/gdn_peers.py --out "$out/gdn_peers.csv" ${GDN_PEER_ARGS:-} \
    >"$out/gdn_peers.log" 2>&1 || echo "the peer script failed: $(tail -3 "$out/gdn_peers.log")"
  echo "== bench_gated_delta_rule_cuda"
  # shellcheck disable=SC2086
  timeout 300 build-gpu/bench/bench_gated_delta_rule_cuda --peers "$out/gdn_peers.csv" ${GDN_BENCH_ARGS:-} | tee "$out/gdn_bench.md"
fi
exit $status
