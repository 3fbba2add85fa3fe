#!/usr/bin/env bash
# The Hugging Face export against the public implementations, on the GPU
# machine: builds loglin, trains a tiny MQAR model of each architecture for a
# few steps, exports it (`loglin export --hf`, with --logits-check) and runs
# scripts/hf_logits_check.py over the exports, which loads each with its
# twin's class (transformers' LlamaForCausalLM; fla's Mamba2ForCausalLM,
# LogLinearMamba2ForCausalLM, GatedDeltaNetForCausalLM, from FLA_DIR,
# default .peers/fla) and prints the relative error of the logits as a
# table. log-linear Gated DeltaNet has no twin: it is exported with --layout
# loglin and its row says so. Logs and exports go to $OUT (or gpu_check/).
set -uo pipefail
source "$(dirname "$0")/gpu_common.sh"
export FLA_DIR=${FLA_DIR:-$PWD/.peers/fla}
gpu_build loglin_cli || exit 1
root=$PWD
loglin=$root/build-gpu/loglin
work=$out/hf_check
rm -rf "$work" && mkdir -p "$work"
cd "$work" || exit 1

status=0
checks=()
for arch in transformer mamba2 loglinear_mamba2 gated_deltanet loglinear_gated_deltanet; do
  extra="" layout=hf
  case $arch in
    mamba2) extra=", mlp: false" ;;
    loglinear_mamba2) extra=", mlp_hidden: 256" ;;  # fla's fixed MLP width for d_model 64
    loglinear_gated_deltanet) layout=loglin ;;
  esac
  cat > $arch.yaml <<YAML
model: {arch: $arch, d_model: 64, n_layers: 2, n_heads: 2, head_dim: 32, d_state: 16, max_seq_len: 256$extra}
data: {dataset: mqar, batch_size: 16, mqar: {num_pairs: 8, vocab_size: 256, seq_len: 128, train_examples: 2000, val_examples: 64}}
training: {steps: 30, eval_every: 0, eval_batches: 1, sample_tokens: 0}
checkpoint: {every: 0}
logging: {run_dir: run_$arch, progress: off}
YAML
  if ! "$loglin" train $arch.yaml >train_$arch.log 2>&1; then
    echo "$arch: training failed"; tail -5 train_$arch.log; status=1; continue
  fi
  if ! "$loglin" export run_$arch --hf export_$arch --layout $layout \
      --logits-check $arch.check.safetensors --check-length 128 2>&1 | tee export_$arch.log; then
    echo "$arch: export failed"; status=1; continue
  fi
  checks+=("$arch.check.safetensors")
done
python3 "$root/scripts/hf_logits_check.py" "${checks[@]}" || status=1
exit $status
