#!/usr/bin/env bash
# On the GPU machine: build the program and train each configs/gpu_*.yaml for a
# few steps (transformer 600, the Mamba-2 models 60), printing the loss curve.
# Build logs go to $OUT (default gpu_check).
set -uo pipefail
source "$(dirname "$0")/gpu_common.sh"
gpu_build loglin_cli || echo BUILD FAILED
for spec in "transformer 600 50" "mamba2 60 10" "loglinear_mamba2 60 10"; do
  set -- $spec
  rm -rf /tmp/run_$1
  echo "== configs/gpu_$1.yaml, $2 steps"
  timeout 200 build-gpu/loglin train configs/gpu_$1.yaml --set training.steps=$2 --set training.eval_every=$2 \
    --set training.eval_batches=8 --set logging.run_dir=/tmp/run_$1 --set logging.progress=off \
    --set logging.log_every=$3 --set checkpoint.every=0 --set schedule.warmup_steps=$(( $2 / 6 )) 2>&1 |
    grep -E "model:|final:|throughput:|trained" | sed 's/^\[[^]]*\] \[info\] //'
  python3 -c "
import json
for l in open('/tmp/run_$1/metrics.jsonl'):
    r = json.loads(l)
    if r.get('kind') == 'train': print('step', r['step'], 'loss', round(r['loss'], 4), 'tok/s', round(r['tokens_per_s']))
"
done
