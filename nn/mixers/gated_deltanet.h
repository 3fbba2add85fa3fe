// The Gated DeltaNet mixer and its log-linear form (H-GDN),
// SPEC-gated-deltanet.md section 5:
//
//   in_proj(x) -> [qkv, z, a, b, dl]   (one matrix: the q, k, v, output-gate,
//                                       a, b and level-scale projections)
//   qkv -> causal depthwise conv (kernel 4) -> SiLU (fused) -> q, k (H*K), v (H*V)
//   q, k L2-normalised per head; q *= 1/sqrt(K)
//   beta = sigmoid(b); g = -exp(A_log) * softplus(a + dt_bias)
//   lambda = softplus(Lambda[h, l] * dl[t, h, l])   (log-linear only)
//   y = gated_delta_rule(q, k, v, g, beta[, lambda]) [B, T, H, V]
//   out_proj(rms_norm_gated(y, z) per head)
//
// G = H (one q/k head per value head). GatedDeltaNet is the same layer with
// one level and no dl outputs. Decoding carries the conv window and the
// delta-rule state: one K x V matrix per head, or L of them (the levels).
#pragma once
#include <memory>

#include "core/rng.h"
#include "nn/layers/conv1d.h"
#include "nn/layers/linear.h"
#include "nn/layers/norm.h"
#include "nn/mixers/mixer.h"

namespace loglin::nn {

struct GatedDeltaNetOptions {
  explicit GatedDeltaNetOptions(int64_t d_model) : d_model_(d_model) {}
  LOGLIN_ARG(int64_t, d_model);
  LOGLIN_ARG(int64_t, n_heads) = 4;   // H
  LOGLIN_ARG(int64_t, head_dim) = 64;  // K, of q and k
  LOGLIN_ARG(int64_t, expand_v) = 2;   // V = expand_v * K
  LOGLIN_ARG(int64_t, conv_kernel) = 4;
  LOGLIN_ARG(int64_t, chunk_size) = 64;
  LOGLIN_ARG(int64_t, max_seq_len) = 2048;  // sets the number of levels of the log-linear form
  LOGLIN_ARG(double, dt_min) = 0.001;
  LOGLIN_ARG(double, dt_max) = 0.1;
  LOGLIN_ARG(double, norm_eps) = 1e-5;
  LOGLIN_ARG(double, init_std) = 0.02;
  LOGLIN_ARG(double, out_init_std) = 0.02;
};

class GatedDeltaNetMixer : public Mixer {
 public:
  Tensor forward(const Tensor& x) const override;
  // The conv window and the delta-rule state restart at each document (cu_seqlens).
  Tensor forward_packed(const Tensor& x, const Tensor& cu_seqlens) const override;
  bool resets_at_documents() const override { return true; }
  std::unique_ptr<MixerState> initial_state(int64_t batch) const override;
  // One token (T = 1) runs gated_delta_rule_step; a prompt (T > 1) runs the
  // chunked op from the state and keeps its final state.
  Tensor step(const Tensor& x, MixerState& state) const override;

  bool log_linear() const { return log_linear_; }
  int64_t n_levels() const { return n_levels_; }
  int64_t value_dim() const { return value_dim_; }  // V

  GatedDeltaNetOptions options;
  std::shared_ptr<Linear> in_proj, out_proj;
  std::shared_ptr<CausalConv1d> conv;  // over the q, k and v channels
  std::shared_ptr<RMSNorm> norm;       // [V], shared by the heads
  Tensor A_log, dt_bias;               // [H] each
  Tensor Lambda;                       // [H, L], log-linear only

 protected:
  GatedDeltaNetMixer(const GatedDeltaNetOptions& options, bool log_linear, Generator& gen);

 private:
  struct Parts;  // one input's projections, split and activated
  std::vector<Tensor> split_projection(const Tensor& proj) const;
  Parts project(const std::vector<Tensor>& pieces, const Tensor& qkv_act) const;  // qkv_act: silu(conv(qkv))
  Tensor finish(const Parts& p, const Tensor& y) const;
  // x [B, T, D] -> [B, T, D]; with cu_seqlens (B = 1) per document.
  Tensor mix(const Tensor& x, const Tensor& cu_seqlens) const;

  bool log_linear_;
  int64_t value_dim_, conv_dim_, n_levels_;
};

class GatedDeltaNet : public GatedDeltaNetMixer {
 public:
  explicit GatedDeltaNet(const GatedDeltaNetOptions& options, Generator& gen = default_generator())
      : GatedDeltaNetMixer(options, false, gen) {}
  std::string type_name() const override { return "GatedDeltaNet"; }
};

class LogLinearGatedDeltaNet : public GatedDeltaNetMixer {
 public:
  explicit LogLinearGatedDeltaNet(const GatedDeltaNetOptions& options, Generator& gen = default_generator())
      : GatedDeltaNetMixer(options, true, gen) {}
  std::string type_name() const override { return "LogLinearGatedDeltaNet"; }
};

}  // namespace loglin::nn
