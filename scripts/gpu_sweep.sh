#!/usr/bin/env bash
# On the GPU machine: one call's share of a sweep that spans sessions.
#   1. builds build-gpu/loglin (a no-op on a warm machine that has it);
#   2. puts back the points finished in earlier sessions
#      (docs/experiments/NAME/points/, committed), so `loglin sweep` skips them;
#   3. runs `loglin sweep SWEEP.yaml OPTIONS...` until SECONDS after this
#      script started (then SIGTERM: running points stop; their checkpoints
#      stay in runs/ and they resume on the next call of a warm machine);
#   4. copies what a commit keeps to $OUT/NAME: sweep.csv, summary.md,
#      sweep_settings.yaml, sessions.log (a line per call: date, GPU, commit,
#      options, points done) and, for each finished point, points/POINT/
#      {config.yaml, metrics.jsonl, sweep_point.json, train.log}. Never
#      checkpoints.
# NAME is the sweep directory's name (runs/mqar_zoology -> mqar_zoology).
#
#   scripts/gpu_sweep.sh SWEEP.yaml SECONDS [loglin sweep options ...]
#   OUT=$OUT scripts/gpu_sweep.sh experiments/mqar/mqar_zoology.yaml 540 --parallel 8 --only 'optimizer\.lr=1e-[234],'
#
# Back here: cp -r FILES_AT/NAME docs/experiments/ (it holds every point done
# so far, old and new), then commit docs/experiments/NAME. SECONDS should stay
# under the device's per-command limit (600 s) with room for the copy.
# LOGLIN=path/to/loglin skips the build and uses that program (to try the
# script on a CPU with a sweep whose base says device: cpu).
set -uo pipefail
start=$(date +%s)
source "$(dirname "$0")/gpu_common.sh"

[ $# -ge 2 ] || { echo "usage: scripts/gpu_sweep.sh SWEEP.yaml SECONDS [loglin sweep options ...]" >&2; exit 2; }
sweep=$1 budget=$2
shift 2

if [ -n "${LOGLIN:-}" ]; then  # a program built already (say on a CPU, to try this script)
  loglin=$LOGLIN
else
  gpu_build loglin_cli || { echo "BUILD FAILED"; exit 1; }
  loglin=build-gpu/loglin
fi
head=$("$loglin" sweep "$sweep" --dry-run | head -1) || { echo "the sweep does not validate" >&2; exit 1; }
dir=${head##* in }
name=$(basename "$dir")
echo "$head"

# 2. Points finished in earlier sessions, unless this machine has the point already.
restored=0
if [ -d "docs/experiments/$name/points" ]; then
  for p in docs/experiments/"$name"/points/*/; do
    p=${p%/}
    target="$dir/$(basename "$p")"
    [ -e "$target/metrics.jsonl" ] && continue
    mkdir -p "$target" && cp "$p"/* "$target"/ && restored=$((restored + 1))
  done
fi
echo "restored $restored finished point(s) from docs/experiments/$name/points"

# 3. The sweep, until the budget runs out.
left=$((budget - ($(date +%s) - start) - 15))
rc=0
if [ "$left" -gt 30 ]; then
  echo "== loglin sweep $sweep $* (at most $left s)"
  timeout -k 20 "$left" "$loglin" sweep "$sweep" "$@"
  rc=$?
  [ "$rc" -eq 124 ] && echo "== stopped after $left s; interrupted points resume on the next call"
else
  echo "== no time left for the sweep after the build"
fi

# 4. What a commit keeps.
keep="$out/$name"
mkdir -p "$keep/points"
for f in sweep.csv summary.md sweep_settings.yaml; do
  [ -f "$dir/$f" ] && cp "$dir/$f" "$keep/"
done
done_points=0
for p in "$dir"/*/; do
  p=${p%/}
  if ! grep -qs '"outcome":"done"' "$p/sweep_point.json"; then
    # Not finished: where it stands, for timing the slow points (ms_per_step).
    last=$(grep -s '"kind":"train"' "$p/metrics.jsonl" | tail -1)
    [ -n "$last" ] && echo "unfinished $(basename "$p"): $last"
    continue
  fi
  mkdir -p "$keep/points/$(basename "$p")"
  for f in config.yaml metrics.jsonl sweep_point.json train.log; do
    [ -f "$p/$f" ] && cp "$p/$f" "$keep/points/$(basename "$p")/"
  done
  done_points=$((done_points + 1))
done
[ -f "docs/experiments/$name/sessions.log" ] && cp "docs/experiments/$name/sessions.log" "$keep/"
gpu=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)
echo "$(date -u '+%Y-%m-%d %H:%M') | ${gpu:-no GPU} | $(gpu_commit | sed 's/^commit: //') | $* | exit $rc | $((\
$(date +%s) - start)) s | $done_points points done" >>"$keep/sessions.log"
echo "$done_points point(s) done in all; copied to $keep"
exit 0
