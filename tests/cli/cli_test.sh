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
check "eval --position-buckets" 0 "pos_24-31 +[0-9.]+ +\(32 targets\)" -- "$loglin" eval run --batches 1 --position-buckets 4
check "eval: too many position buckets" 1 "^loglin: \[eval\] --position-buckets must be in \[0, 32\]" -- "$loglin" eval run --position-buckets 33
check "generate" 0 "^It was" -- "$loglin" generate run --prompt "It was" --tokens 10 --seed 3
check "generate bad flag" 1 "unknown option '--tokenz'" -- "$loglin" generate run --tokenz 3
# Hugging Face export and import: the tiny log-linear Mamba-2 has no exact
# twin (fla's MLP width differs), so --hf is refused without --layout loglin.
check "export --help" 0 "usage: loglin export" -- "$loglin" export --help
check "import --help" 0 "usage: loglin import" -- "$loglin" import --help
check "export without a twin refuses" 1 "^loglin: \[export\] model.arch loglinear_mamba2 has no exact public twin.*--layout loglin" -- "$loglin" export run --hf hf_ll
check "nothing written by a refused export" 0 "^absent$" -- bash -c '[ -e hf_ll ] && echo present || echo absent'
check "export --layout loglin" 0 "as loglin \(LoglinForCausalLM\)" -- "$loglin" export run --hf hf_ll --layout loglin --logits-check ll.check.safetensors
check "export into a full directory refuses" 1 "already exists and is not an empty directory" -- "$loglin" export run --hf hf_ll --layout loglin
check "import" 0 "imported loglinear_mamba2 \(loglin\)" -- "$loglin" import hf_ll --config imported.yaml --run-dir imported_run
check "eval the imported run" 0 "bits/byte" -- "$loglin" eval imported_run
check "train on from the import" 0 "resumed from .*step_000000" -- "$loglin" train imported.yaml --set training.steps=2
check "import refuses an existing config" 1 "imported.yaml already exists" -- "$loglin" import hf_ll --config imported.yaml --run-dir other_run
check "import of a directory without config.json" 1 "^loglin: \[import\] .* has no config.json" -- "$loglin" import run --config x.yaml
check "train a transformer to export" 0 "bits per byte" -- "$loglin" train tiny.yaml --set model.arch=transformer --set model.n_heads=2 --set training.steps=2 --set logging.run_dir=run_tf
check "export --hf as Llama" 0 "as llama \(LlamaForCausalLM\)" -- "$loglin" export run_tf --hf hf_tf --logits-check tf.check.safetensors
check "Llama names in the export" 0 "model.layers.0.self_attn.q_proj.weight" -- bash -c "head -c 4000 hf_tf/model.safetensors | tr -c '[:print:]' ' '"
check "import the Llama export" 0 "imported transformer \(llama\)" -- "$loglin" import hf_tf --config tf.yaml --run-dir tf_imported
check "eval the imported Llama" 0 "bits/byte" -- "$loglin" eval tf_imported
# Each twin's export against a numpy transcription of the twin's equations
# (scripts/hf_logits_check.py --reference numpy), where a python3 with numpy is.
npy=""
for py in python3 /usr/bin/python3; do
  if "$py" -c "import numpy" >/dev/null 2>&1; then npy=$py; break; fi
done
if [ -n "$npy" ]; then
  for arch in mamba2 loglinear_mamba2 gated_deltanet; do
    case $arch in
      mamba2) extra="--set model.mlp=false" ;;
      loglinear_mamba2) extra="--set model.mlp_hidden=256" ;;  # fla's fixed width for d_model 16
      *) extra="" ;;
    esac
    check "train a $arch to export" 0 "bits per byte" -- "$loglin" train tiny.yaml --set model.arch=$arch --set model.n_heads=2 --set training.steps=2 --set logging.run_dir=run_$arch $extra
    check "export --hf $arch" 0 "exported $arch" -- "$loglin" export run_$arch --hf hf_$arch --logits-check $arch.check.safetensors --check-length 29
  done
  for arch in transformer mamba2 loglinear_mamba2 gated_deltanet; do
    [ $arch = transformer ] && file=tf.check.safetensors || file=$arch.check.safetensors
    check "$arch export matches the twin's equations (numpy)" 0 "^\\| $arch \\| .* \\| pass \\|$" -- "$npy" "$src/scripts/hf_logits_check.py" --reference numpy $file
  done
else
  echo "note: no python3 with numpy: the numpy checks of the Hugging Face exports were skipped"
fi
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
# loglin sweep: a 2-point grid of learning rates on the tiny config, on the cpu.
cat > sweep.yaml <<YAML
base: tiny.yaml
grid:
  optimizer.lr: [1e-3, 3e-3]
YAML
printf 'base: tiny.yaml\ngrid:\n  optimizer.lr: [1e-3]\n  model.d_modle: [16, 32]\n' > bad_key.yaml
printf 'base: tiny.yaml\ngrid:\n  model.arch: [mamba2,\n    mamba3]\n' > bad_value.yaml
printf 'base: tiny.yaml\ngrid:\n  data.path: [corpus.txt, missing.txt]\nsweep_dir: failing\n' > failing.yaml
check "sweep --help" 0 "usage: loglin sweep SWEEP.yaml" -- "$loglin" sweep --help
check "sweep: unknown grid key" 1 "^loglin: \\[sweep\\] bad_key.yaml:4: grid key 'model.d_modle' is not a config key \\(did you mean 'model.d_model'\\?\\)" -- "$loglin" sweep bad_key.yaml
check "sweep: a bad value names its line and point" 1 "bad_value.yaml:4: model.arch=mamba3 \\(in point model.arch=mamba3,seed=0\\).*did you mean 'mamba2'" -- "$loglin" sweep bad_value.yaml
check "nothing written by refused sweeps" 0 "^absent$" -- bash -c '[ -e bad_key ] || [ -e bad_value ] && echo present || echo absent'
check "sweep --dry-run before" 0 "pending  optimizer.lr=3e-3,seed=0" -- "$loglin" sweep sweep.yaml --dry-run
check "sweep trains both points" 0 "\\[2/2\\] optimizer.lr=3e-3,seed=0 done in [0-9]+ s: val_loss [0-9.]+" -- "$loglin" sweep sweep.yaml
check "sweep.csv has a row per point" 0 "^3 2$" -- bash -c 'echo $(wc -l < sweep/sweep.csv) $(grep -c ",done," sweep/sweep.csv)'
check "summary.md holds the best lr" 0 "chosen optimizer.lr" -- cat sweep/summary.md
check "each point is a run directory" 0 "metrics.jsonl" -- ls "sweep/optimizer.lr=1e-3,seed=0"
check "sweep again trains nothing" 0 "all 2 point\\(s\\) are done; nothing to train" -- "$loglin" sweep sweep.yaml
check "sweep --dry-run after" 0 "done     optimizer.lr=1e-3,seed=0" -- "$loglin" sweep sweep.yaml --dry-run
check "a failed point fails the sweep, not the others" 1 "1 of 2 point\\(s\\) failed: data.path=missing.txt,seed=0" -- "$loglin" sweep failing.yaml --parallel 2
check "the other point finished" 0 "^1$" -- grep -c ",done," failing/sweep.csv
check "tokenizer train" 0 "vocab" -- "$loglin" tokenizer train --input corpus.txt --vocab-size 300 --output bpe.txt
check "tokenizer encode" 0 "[0-9]" -- "$loglin" tokenizer encode --tokenizer bpe.txt --text "the best"
if command -v gnuplot >/dev/null; then
  check "plot" 0 "wrote" -- "$loglin" plot run
  check "plot made a PNG" 0 "PNG" -- head -c 8 run/loss.png
  check "plot a sweep" 0 "wrote sweep/val_loss_vs_optimizer.lr.png" -- "$loglin" plot sweep --x optimizer.lr
  check "plot a sweep made a PNG" 0 "PNG" -- head -c 8 sweep/val_loss_vs_optimizer.lr.png
  check "plot a sweep: unknown key" 1 "--x model.arch is not a grid key" -- "$loglin" plot sweep --x model.arch
fi
echo "$pass passed, $fails failed"
[ "$fails" -eq 0 ]
