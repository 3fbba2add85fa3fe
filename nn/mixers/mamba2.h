// The Mamba-2 mixer and its log-linear variant (SPEC section 5):
//
//   in_proj(x) -> [z, xBC, dt, dl]; xBC -> causal conv (kernel 4) -> SiLU (fused in the conv)
//   -> x (H*P), B (G*N), C (G*N); dt = softplus(dt + dt_bias);
//   g = -exp(A_log) * dt; v = x * dt; q = C, k = B;
//   lambda = softplus(Lambda[h, l] * dl[t, h, l])   (log-linear only; else 1)
//   y = op(q, k, v, g, lambda) + D * x; y = RMSNorm(y) * SiLU(z); out_proj(y)
//
// Mamba2 is the same layer with lambda == 1 and no dl outputs.
#pragma once
#include <memory>
#include <vector>

#include "core/rng.h"
#include "nn/layers/conv1d.h"
#include "nn/layers/linear.h"
#include "nn/layers/norm.h"
#include "nn/mixers/mixer.h"

namespace loglin::nn {

struct Mamba2Options {
  explicit Mamba2Options(int64_t d_model) : d_model_(d_model) {}
  LOGLIN_ARG(int64_t, d_model);
  LOGLIN_ARG(int64_t, expand) = 2;
  LOGLIN_ARG(int64_t, head_dim) = 64;  // P
  LOGLIN_ARG(int64_t, d_state) = 128;  // N
  LOGLIN_ARG(int64_t, n_groups) = 1;   // G
  LOGLIN_ARG(int64_t, conv_kernel) = 4;
  LOGLIN_ARG(int64_t, chunk_size) = 64;
  LOGLIN_ARG(int64_t, max_seq_len) = 2048;  // sets the number of levels of the log-linear variant
  LOGLIN_ARG(double, dt_min) = 0.001;
  LOGLIN_ARG(double, dt_max) = 0.1;
  LOGLIN_ARG(double, norm_eps) = 1e-5;
  LOGLIN_ARG(double, init_std) = 0.02;
  LOGLIN_ARG(double, out_init_std) = 0.02;
};

// The number of levels a log-linear layer needs for sequences of up to
// max_seq_len tokens: bit_length(max_seq_len - 1) + 1.
int64_t levels_for_length(int64_t max_seq_len);

// Mamba-2's init of the decay parameters of H heads, g = -exp(A_log) *
// softplus(. + dt_bias): A uniform in [1, 16]; dt log-uniform in [dt_min,
// dt_max] and dt_bias its inverse softplus. Both [H], f32. Gated DeltaNet
// uses it too.
struct DecayInit {
  Tensor A_log, dt_bias;
};
DecayInit mamba2_decay_init(int64_t heads, double dt_min, double dt_max, Generator& gen);

class Mamba2Mixer : public Mixer {
 public:
  Tensor forward(const Tensor& x) const override;
  // The conv window and the scan restart at each document (cu_seqlens).
  Tensor forward_packed(const Tensor& x, const Tensor& cu_seqlens) const override;
  bool resets_at_documents() const override { return true; }
  std::unique_ptr<MixerState> initial_state(int64_t batch) const override;
  Tensor step(const Tensor& x, MixerState& state) const override;

  bool log_linear() const { return log_linear_; }
  int64_t n_heads() const { return n_heads_; }
  int64_t n_levels() const { return n_levels_; }

  Mamba2Options options;
  std::shared_ptr<Linear> in_proj, out_proj;
  std::shared_ptr<CausalConv1d> conv;
  std::shared_ptr<RMSNorm> norm;
  Tensor A_log, dt_bias, D;  // [H] each
  Tensor Lambda;             // [H, L], log-linear only

 protected:
  Mamba2Mixer(const Mamba2Options& options, bool log_linear, Generator& gen);

 private:
  struct Parts;  // the projections of one input, split and activated
  // in_proj's output as views: z, xBC (the conv's input), dt and, for the
  // log-linear mixer, the level-scale logits.
  std::vector<Tensor> split_projection(const Tensor& zxbcdt) const;
  Parts project(const std::vector<Tensor>& pieces, const Tensor& xbc_act) const;  // xbc_act: silu(conv(xBC))
  Tensor finish(const Parts& p, const Tensor& y) const;
  // x [B, T, D] -> [B, T, D]; with cu_seqlens (B = 1) per document.
  Tensor mix(const Tensor& x, const Tensor& cu_seqlens) const;

  bool log_linear_;
  int64_t d_inner_, n_heads_, conv_dim_, n_levels_;
};

class Mamba2 : public Mamba2Mixer {
 public:
  explicit Mamba2(const Mamba2Options& options, Generator& gen = default_generator())
      : Mamba2Mixer(options, false, gen) {}
  std::string type_name() const override { return "Mamba2"; }
};

class LogLinearMamba2 : public Mamba2Mixer {
 public:
  explicit LogLinearMamba2(const Mamba2Options& options, Generator& gen = default_generator())
      : Mamba2Mixer(options, true, gen) {}
  std::string type_name() const override { return "LogLinearMamba2"; }
};

}  // namespace loglin::nn
