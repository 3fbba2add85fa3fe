// A decoder-only language model: embedding, N pre-norm blocks (mixer +
// residual, then an optional SwiGLU MLP + residual), a final RMSNorm and the
// LM head (tied to the embedding or not). The mixer is chosen per model:
// softmax attention, Mamba-2, log-linear Mamba-2, Gated DeltaNet or
// log-linear Gated DeltaNet.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "core/rng.h"
#include "nn/layers/dropout.h"
#include "nn/layers/embedding.h"
#include "nn/layers/linear.h"
#include "nn/layers/mlp.h"
#include "nn/layers/norm.h"
#include "nn/mixers/mixer.h"
#include "nn/module_list.h"

namespace loglin::nn {

struct LMOptions {
  LMOptions(std::string arch, int64_t vocab_size) : arch_(std::move(arch)), vocab_size_(vocab_size) {}
  LOGLIN_ARG(std::string, arch);  // transformer | mamba2 | loglinear_mamba2 | gated_deltanet | loglinear_gated_deltanet
  LOGLIN_ARG(int64_t, vocab_size);
  LOGLIN_ARG(int64_t, d_model) = 256;
  LOGLIN_ARG(int64_t, n_layers) = 4;
  LOGLIN_ARG(int64_t, n_heads) = 4;    // attention, Gated DeltaNet H
  LOGLIN_ARG(int64_t, head_dim) = 64;  // Mamba-2 P, Gated DeltaNet K
  LOGLIN_ARG(int64_t, d_state) = 64;   // Mamba-2 N
  LOGLIN_ARG(int64_t, expand) = 2;
  LOGLIN_ARG(int64_t, expand_v) = 2;  // Gated DeltaNet V = expand_v * K
  LOGLIN_ARG(int64_t, n_groups) = 1;
  LOGLIN_ARG(int64_t, conv_kernel) = 4;
  LOGLIN_ARG(int64_t, chunk_size) = 64;
  LOGLIN_ARG(int64_t, max_seq_len) = 1024;
  LOGLIN_ARG(bool, mlp) = true;
  LOGLIN_ARG(int64_t, mlp_hidden) = 0;  // 0: 8/3 d_model rounded up to a multiple of 64
  LOGLIN_ARG(bool, tie_embeddings) = true;
  LOGLIN_ARG(double, dropout) = 0.0;
  LOGLIN_ARG(double, norm_eps) = 1e-5;
  LOGLIN_ARG(double, init_std) = 0.02;
  // Keep only each block's input for backward and recompute the block's
  // forward there (autograd/checkpoint.h): less memory, one more forward.
  LOGLIN_ARG(bool, activation_checkpointing) = false;
};

class Block : public Module {
 public:
  Block(const LMOptions& options, int64_t layer, Generator& gen);
  // cu_seqlens defined: packed documents (Mixer::forward_packed).
  Tensor forward(const Tensor& x, const Tensor& cu_seqlens = Tensor()) const;
  // forward(x, cu_seqlens) under autograd::checkpoint: bit-identical results
  // and gradients, with only x kept for backward.
  Tensor checkpointed_forward(const Tensor& x, const Tensor& cu_seqlens = Tensor()) const;
  Tensor step(const Tensor& x, MixerState& state) const;
  std::string type_name() const override { return "Block"; }

  std::shared_ptr<RMSNorm> mixer_norm, mlp_norm;
  std::shared_ptr<Mixer> mixer;
  std::shared_ptr<SwiGLU> mlp;  // null when the model has no MLP
  std::shared_ptr<Dropout> drop;
};

// Per-layer decoding state.
struct LMState {
  std::vector<std::unique_ptr<MixerState>> layers;
  int64_t pos = 0;
};

class LanguageModel : public Module {
 public:
  explicit LanguageModel(const LMOptions& options, Generator& gen = default_generator());
  // ids [B, T] (i32/i64) -> logits [B, T, vocab], on the model's device.
  // ids may sit on any device: they are small and are moved to the model's.
  // With cu_seqlens the B*T tokens (row after row) are packed documents
  // (Mixer::forward_packed): each position sees only its own document, and
  // the logits equal those of each document run on its own.
  Tensor forward(const Tensor& ids, const Tensor& cu_seqlens = Tensor()) const;
  // Whether every mixer resets at document starts (forward with cu_seqlens works).
  bool resets_at_documents() const;
  // Where the parameters live (after to(device)).
  Device device() const;
  LMState initial_state(int64_t batch) const;
  // Continues the sequences in `state` with ids [B, T]; returns the logits
  // of the last position [B, vocab]. Inference only.
  Tensor step(const Tensor& ids, LMState& state) const;
  std::string type_name() const override { return "LanguageModel"; }

  LMOptions options;
  std::shared_ptr<Embedding> embed;
  std::shared_ptr<ModuleList<Block>> blocks;
  std::shared_ptr<RMSNorm> final_norm;
  std::shared_ptr<Linear> lm_head;  // null when tied

 private:
  Tensor head(const Tensor& h) const;
};

// The MLP width used when options.mlp_hidden() is 0.
int64_t default_mlp_hidden(int64_t d_model);

}  // namespace loglin::nn
