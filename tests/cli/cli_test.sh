#!/usr/bin/env bash
# End-to-end checks of the `loglin` program: exit codes, one-line errors and
# every subcommand on a tiny run. Usage: cli_test.sh LOGLIN_BINARY SOURCE_DIR
set -uo pipefail
loglin=$1
src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fails=0
pass=0
check() {  # check NAME EXPECTED_RC GREP_PATTERN -- command...
  local name=$1 want=$2 pattern=$3
  shift 4
  local out rc
  out=$("$@" 2>&1)
  rc=$?
  if [ "$rc" -ne "$want" ] || ! grep -qE -- "$pattern" <<<"$out"; then
    echo "FAIL: $name (exit $rc, wanted $want; pattern '$pattern')"
    echo "$out" | tail -5
    fails=$((fails + 1))
  else
    pass=$((pass + 1))
  fi
}

cd "$work"
cat > text.txt <<'TXT'
It was the best of times, it was the worst of times, it was the age of wisdom.
TXT
for i in $(seq 1 60); do cat text.txt; done > corpus.txt
cat > tiny.yaml <<YAML
model: {arch: loglinear_mamba2, d_model: 16, n_layers: 1, head_dim: 8, d_state: 8, chunk_size: 8, max_seq_len: 32}
data: {dataset: text, path: corpus.txt, seq_len: 32, batch_size: 4, cache_dir: cache}
schedule: {warmup_steps: 2}
training: {steps: 6, eval_every: 3, eval_batches: 2, sample_tokens: 8}
checkpoint: {every: 3}
logging: {run_dir: run, progress: off}
YAML

check "help" 0 "commands:" -- "$loglin" --help
check "no command" 2 "usage" -- "$loglin"
check "unknown command" 2 "unknown command 'fly'" -- "$loglin" fly
check "train --help" 0 "usage: loglin train" -- "$loglin" train --help
check "missing config file" 1 "^loglin: \[config\]" -- "$loglin" train nope.yaml
check "unknown key suggests" 1 "did you mean 'training.steps'" -- "$loglin" train tiny.yaml --set training.stesp=3
check "nothing written on a bad config" 0 "^absent$" -- bash -c '[ -e run ] && echo present || echo absent'
# --gpus: bad requests are refused before anything is written or started.
check "--gpus 0" 1 "--gpus 0: the number of GPUs must be at least 1" -- "$loglin" train tiny.yaml --gpus 0
check "--gpus not a number" 1 "--gpus needs an integer" -- "$loglin" train tiny.yaml --gpus two
check "--gpus on a cpu config" 1 "training.device is cpu" -- "$loglin" train tiny.yaml --gpus 2 --set training.device=cpu
if ! "$loglin" version | grep -q "devices: [2-9]"; then
  check "--gpus 2 without two GPUs" 1 "built without CUDA|built without NCCL|no CUDA device is visible|only 1 CUDA device" -- "$loglin" train tiny.yaml --gpus 2
fi
check "--gpus under a launcher" 1 "leave --gpus out under mpirun" -- env RANK=0 WORLD_SIZE=2 "$loglin" train tiny.yaml --gpus 2
check "a rank names itself in its error" 1 "^loglin \\(rank 1\\): \\[train\\].*training.device is cpu" -- env RANK=1 WORLD_SIZE=2 "$loglin" train tiny.yaml --set training.device=cpu
check "nothing written by refused --gpus runs" 0 "^absent$" -- bash -c '[ -e run ] && echo present || echo absent'
check "info" 0 "parameters" -- "$loglin" info tiny.yaml
check "config check" 0 "arch: loglinear_mamba2" -- "$loglin" config check tiny.yaml
check "train" 0 "bits per byte" -- "$loglin" train tiny.yaml
check "train again refuses" 1 "checkpoint.resume" -- "$loglin" train tiny.yaml
check "resume finishes at once" 0 "trained 6 steps" -- "$loglin" train tiny.yaml --resume
check "eval" 0 "bits/byte" -- "$loglin" eval run
check "generate" 0 "^It was" -- "$loglin" generate run --prompt "It was" --tokens 10 --seed 3
check "generate bad flag" 1 "unknown option '--tokenz'" -- "$loglin" generate run --tokenz 3
check "truncated checkpoint" 1 "truncated" -- bash -c "truncate -s 100 run/checkpoints/step_000006/model.safetensors && '$loglin' eval run/checkpoints/step_000006"
check "gradcheck one op" 0 "passed, 0 failed" -- "$loglin" gradcheck matmul
check "gradcheck unknown op" 1 "no op named" -- "$loglin" gradcheck nope
check "kernels lists the registry" 0 "\\| causal_conv1d \\|" -- "$loglin" kernels
check "kernels shows the precision" 0 "float32 matmul precision: high" -- env LOGLIN_FLOAT32_MATMUL_PRECISION=high "$loglin" kernels
if "$loglin" version | grep -q "CUDA backend: built"; then
  check "kernels takes the env choice" 0 "\\| causal_attention \\| simt \\|" -- env LOGLIN_KERNELS=causal_attention=simt "$loglin" kernels
  check "LOGLIN_KERNELS with an unknown version" 1 "no CUDA kernel version 'v9'" -- env LOGLIN_KERNELS=causal_conv1d=v9 "$loglin" kernels
fi
check "LOGLIN_KERNELS with an unknown op" 1 "not an op with kernel versions" -- env LOGLIN_KERNELS=nope=v1 "$loglin" kernels
check "LOGLIN_KERNELS malformed" 1 "is not op=version" -- env LOGLIN_KERNELS=v1 "$loglin" kernels
check "bad float32 precision" 1 "choose highest" -- env LOGLIN_FLOAT32_MATMUL_PRECISION=medium "$loglin" version
check "explain prints the plan" 0 "\\[explain\\] log_linear_attention: .* -> cpu in f32" -- env LOGLIN_EXPLAIN=1 "$loglin" train tiny.yaml --set training.steps=1 --set logging.run_dir=explain_run
# --cuda: the GPU against the cpu where a GPU answers, else a clear error.
if "$loglin" version | grep -q "devices: [1-9]"; then
  check "gradcheck --cuda" 0 "passed, 0 failed \\(cuda against the cpu\\)" -- "$loglin" gradcheck --cuda rms_norm
else
  check "gradcheck --cuda without a gpu" 1 "needs a CUDA device" -- "$loglin" gradcheck --cuda rms_norm
fi
check "tokenizer train" 0 "vocab" -- "$loglin" tokenizer train --input corpus.txt --vocab-size 300 --output bpe.txt
check "tokenizer encode" 0 "[0-9]" -- "$loglin" tokenizer encode --tokenizer bpe.txt --text "the best"
if command -v gnuplot >/dev/null; then
  check "plot" 0 "wrote" -- "$loglin" plot run
  check "plot made a PNG" 0 "PNG" -- head -c 8 run/loss.png
fi
echo "$pass passed, $fails failed"
[ "$fails" -eq 0 ]
