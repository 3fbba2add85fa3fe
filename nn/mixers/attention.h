// Causal softmax self-attention with rotary position embeddings (RoPE, the
// half-split form) and a KV cache for decoding. On packed documents no query
// sees another document's keys, and the rotary positions restart at 0 with
// each document, so a document reads exactly as it would alone (RoPE scores
// depend only on the distance anyway; restarting also keeps the positions
// within the table's max_seq_len and the rounding equal).
#pragma once
#include <memory>

#include "core/rng.h"
#include "nn/layers/linear.h"
#include "nn/mixers/mixer.h"

namespace loglin::nn {

struct AttentionOptions {
  AttentionOptions(int64_t d_model, int64_t n_heads) : d_model_(d_model), n_heads_(n_heads) {}
  LOGLIN_ARG(int64_t, d_model);
  LOGLIN_ARG(int64_t, n_heads);
  LOGLIN_ARG(int64_t, max_seq_len) = 2048;
  LOGLIN_ARG(double, rope_theta) = 10000.0;
  LOGLIN_ARG(double, init_std) = 0.02;
  LOGLIN_ARG(double, out_init_std) = 0.02;
};

// Keys and values of the positions seen so far: [B, H, pos, head_dim] each.
struct KVCache : MixerState {
  Tensor k, v;
  int64_t pos = 0;
};

class CausalSelfAttention : public Mixer {
 public:
  explicit CausalSelfAttention(const AttentionOptions& options, Generator& gen = default_generator());
  // x [B, T, D] -> [B, T, D]
  Tensor forward(const Tensor& x) const override;
  // x [B, T, D] -> [B, T, D], attention within each document of cu_seqlens.
  Tensor forward_packed(const Tensor& x, const Tensor& cu_seqlens) const override;
  bool resets_at_documents() const override { return true; }
  std::unique_ptr<MixerState> initial_state(int64_t batch) const override;
  Tensor step(const Tensor& x, MixerState& state) const override;
  // Decoding: x [B, T, D] continues the sequence held in `cache` (T = 1 for
  // one token, or more for a prefill) and appends to it.
  Tensor forward_cached(const Tensor& x, KVCache& cache) const;
  std::string type_name() const override { return "CausalSelfAttention"; }

  AttentionOptions options;
  std::shared_ptr<Linear> qkv, out;

 private:
  // q, k: [B, H, T, hd] at absolute positions start..start+T-1.
  Tensor rope(const Tensor& x, int64_t start) const;
  void move_tables_to(Device device) const;
  Tensor attend(const Tensor& x, KVCache* cache) const;
  mutable Tensor cos_, sin_;  // [max_seq_len, hd/2], on the device of the last input
};

}  // namespace loglin::nn
