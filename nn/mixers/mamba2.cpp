#include "nn/mixers/mamba2.h"

#include <cmath>

#include "autograd/grad_mode.h"
#include "ops/log_linear_attention/log_linear_attention.h"
#include "ops/scalar_decay_attention/scalar_decay_attention.h"
#include "ops/ops.h"

namespace loglin::nn {
namespace {

int64_t bit_length(int64_t x) {
  int64_t n = 0;
  while (x > 0) {
    ++n;
    x >>= 1;
  }
  return n;
}

struct Mamba2State : MixerState {
  Tensor conv;           // [B, W-1, conv_dim]: the last pre-conv inputs
  LogLinearState ssm;    // levels [B, H, L, N, P]; one level for Mamba2
};

}  // namespace

int64_t levels_for_length(int64_t max_seq_len) { return bit_length(std::max<int64_t>(max_seq_len - 1, 0)) + 1; }

DecayInit mamba2_decay_init(int64_t heads, double dt_min, double dt_max, Generator& gen) {
  std::vector<float> a(heads), dtb(heads);
  for (int64_t h = 0; h < heads; ++h) {
    a[h] = static_cast<float>(std::log(1.0 + 15.0 * gen.uniform()));
    double dt = std::exp(std::log(dt_min) + gen.uniform() * (std::log(dt_max) - std::log(dt_min)));
    dt = std::max(dt, 1e-4);
    dtb[h] = static_cast<float>(dt + std::log(-std::expm1(-dt)));
  }
  return {Tensor::from_vector(a, {heads}), Tensor::from_vector(dtb, {heads})};
}

struct Mamba2Mixer::Parts {
  Tensor z;       // [..., d_inner]
  Tensor x;       // [..., H, P]
  Tensor q, k;    // [..., G, N]
  Tensor v;       // [..., H, P]
  Tensor g;       // [..., H]
  Tensor lambda;  // [..., H, L] (log-linear) or undefined
};

Mamba2Mixer::Mamba2Mixer(const Mamba2Options& o, bool log_linear, Generator& gen)
    : options(o), log_linear_(log_linear) {
  d_inner_ = o.expand() * o.d_model();
  LOGLIN_CHECK(o.head_dim() > 0 && d_inner_ % o.head_dim() == 0,
               "[Mamba2] head_dim {} must divide expand * d_model = {}", o.head_dim(), d_inner_);
  n_heads_ = d_inner_ / o.head_dim();
  LOGLIN_CHECK(o.n_groups() > 0 && n_heads_ % o.n_groups() == 0, "[Mamba2] n_groups {} must divide the {} heads",
               o.n_groups(), n_heads_);
  conv_dim_ = d_inner_ + 2 * o.n_groups() * o.d_state();
  n_levels_ = log_linear ? levels_for_length(o.max_seq_len()) : 1;
  const int64_t H = n_heads_, L = n_levels_;
  const int64_t d_proj = d_inner_ + conv_dim_ + H + (log_linear ? H * L : 0);
  in_proj = register_module("in_proj", std::make_shared<Linear>(
                                           LinearOptions(o.d_model(), d_proj).bias(false).init_std(o.init_std()), gen));
  // The conv's SiLU is fused into it (one pass each way instead of three).
  conv = register_module(
      "conv", std::make_shared<CausalConv1d>(
                  CausalConv1dOptions(conv_dim_, o.conv_kernel()).activation(ConvActivation::silu), gen));
  // Mamba-2's init (mamba2_decay_init); D = 1.
  DecayInit decay = mamba2_decay_init(H, o.dt_min(), o.dt_max(), gen);
  A_log = register_parameter("A_log", decay.A_log);
  dt_bias = register_parameter("dt_bias", decay.dt_bias);
  D = register_parameter("D", Tensor::ones({H}));
  if (log_linear) Lambda = register_parameter("Lambda", Tensor::ones({H, L}));
  norm = register_module("norm", std::make_shared<RMSNorm>(NormOptions(d_inner_).eps(o.norm_eps())));
  out_proj = register_module("out_proj", std::make_shared<Linear>(
                                             LinearOptions(d_inner_, o.d_model()).bias(false).init_std(o.out_init_std()), gen));
}

std::vector<Tensor> Mamba2Mixer::split_projection(const Tensor& zxbcdt) const {
  std::vector<int64_t> sizes{d_inner_, conv_dim_, n_heads_};
  if (log_linear_) sizes.push_back(n_heads_ * n_levels_);
  return split(zxbcdt, -1, sizes);
}

// pieces: split_projection's views; xbc_act [..., conv_dim]: silu(conv(xBC)),
// the conv module's output (its SiLU is fused). split() rather than narrow():
// one gradient for each projection, not one zero-filled full-size tensor per
// piece summed in the backward.
Mamba2Mixer::Parts Mamba2Mixer::project(const std::vector<Tensor>& pieces, const Tensor& xbc_act) const {
  const int64_t H = n_heads_, P = options.head_dim(), G = options.n_groups(), N = options.d_state();
  Shape lead(xbc_act.shape().begin(), xbc_act.shape().end() - 1);
  auto shaped = [&](const Tensor& t, std::initializer_list<int64_t> tail) {
    Shape s = lead;
    s.insert(s.end(), tail);
    return t.reshape(s);
  };
  Parts p;
  p.z = pieces[0];
  std::vector<Tensor> xbc = split(xbc_act, -1, {d_inner_, G * N, G * N});
  p.x = shaped(xbc[0], {H, P});
  p.k = shaped(xbc[1], {G, N});
  p.q = shaped(xbc[2], {G, N});
  Tensor dt = softplus(pieces[2] + dt_bias);
  p.g = dt * neg(exp(A_log));
  p.v = p.x * dt.unsqueeze(-1);
  if (log_linear_) p.lambda = softplus(shaped(pieces[3], {H, n_levels_}) * Lambda);
  return p;
}

Tensor Mamba2Mixer::finish(const Parts& p, const Tensor& y) const {
  Tensor out = y + p.x * D.unsqueeze(-1);
  // One fused kernel (z read in place) instead of norm, silu and mul; norm
  // keeps owning the weight, so checkpoints keep their parameter names.
  out = rms_norm_gated(out.reshape(p.z.shape()), p.z, norm->weight, norm->options.eps());
  return out_proj->forward(out);
}

Tensor Mamba2Mixer::forward(const Tensor& x) const {
  LOGLIN_CHECK(x.dim() == 3 && x.size(2) == options.d_model(), "[{}] input must be [B, T, {}], got {}", type_name(),
               options.d_model(), shape_str(x.shape()));
  return mix(x, Tensor());
}

// The B rows become one packed sequence of B*T tokens (every row start is a
// document start): the projections act per token, the conv and the scan take
// cu_seqlens.
Tensor Mamba2Mixer::forward_packed(const Tensor& x, const Tensor& cu_seqlens) const {
  LOGLIN_CHECK(x.dim() == 3 && x.size(2) == options.d_model(), "[{}] input must be [B, T, {}], got {}", type_name(),
               options.d_model(), shape_str(x.shape()));
  const int64_t B = x.size(0), T = x.size(1), D = options.d_model();
  return mix(x.reshape({1, B * T, D}), cu_seqlens).reshape({B, T, D});
}

Tensor Mamba2Mixer::mix(const Tensor& x, const Tensor& cu_seqlens) const {
  std::vector<Tensor> pieces = split_projection(in_proj->forward(x));
  Parts p = project(pieces, conv->forward(pieces[1], cu_seqlens));
  // Mamba-2 (lambda == 1) takes the scalar-decay path, which pays for no levels.
  const int64_t C = options.chunk_size();
  Tensor y = log_linear_ ? log_linear_attention(p.q, p.k, p.v, p.g, p.lambda,
                                                LogLinearAttentionOptions().chunk_size(C).cu_seqlens(cu_seqlens))
                         : scalar_decay_attention(p.q, p.k, p.v, p.g,
                                                  ScalarDecayOptions().chunk_size(C).cu_seqlens(cu_seqlens));
  return finish(p, y);
}

std::unique_ptr<MixerState> Mamba2Mixer::initial_state(int64_t batch) const {
  auto st = std::make_unique<Mamba2State>();
  st->conv = conv->initial_state(batch);
  st->ssm = LogLinearState::zeros(batch, n_heads_, n_levels_, options.d_state(), options.head_dim(), A_log.dtype());
  st->ssm.levels = st->ssm.levels.to(A_log.device());
  return st;
}

Tensor Mamba2Mixer::step(const Tensor& x, MixerState& state) const {
  auto* st = dynamic_cast<Mamba2State*>(&state);
  LOGLIN_CHECK(st != nullptr, "[{}] step() needs the state from its own initial_state()", type_name());
  LOGLIN_CHECK(x.dim() == 3 && x.size(2) == options.d_model(), "[{}] step input must be [B, T, {}], got {}",
               type_name(), options.d_model(), shape_str(x.shape()));
  NoGradGuard no_grad;
  const int64_t B = x.size(0), T = x.size(1), H = n_heads_;
  std::vector<Tensor> outs;
  for (int64_t t = 0; t < T; ++t) {
    std::vector<Tensor> pieces = split_projection(in_proj->forward(x.select(1, t)));  // of [B, d_proj]
    Tensor xbc = conv->step(pieces[1], st->conv);
    Parts p = project(pieces, xbc);
    Tensor y;
    if (log_linear_) {
      y = log_linear_attention_step(st->ssm, p.q, p.k, p.v, p.g, p.lambda);
    } else {
      // Mamba-2 keeps one state per head: S <- exp(g) S + k v^T, y = q^T S.
      // It lives in level 0 of a one-level LogLinearState.
      const int64_t G = options.n_groups(), N = options.d_state();
      auto per_head = [&](const Tensor& t) {  // [B, G, N] -> [B, H, N]
        return t.unsqueeze(2).expand({B, G, H / G, N}).reshape({B, H, N});
      };
      Tensor S = st->ssm.levels.select(2, 0);  // [B, H, N, P]
      S = S * exp(p.g).unsqueeze(-1).unsqueeze(-1) + per_head(p.k).unsqueeze(-1) * p.v.unsqueeze(-2);
      y = matmul(per_head(p.q).unsqueeze(-2), S).squeeze(-2);  // [B, H, P]
      st->ssm.levels = S.unsqueeze(2).contiguous();
      for (auto& pos : st->ssm.positions) ++pos;
    }
    outs.push_back(finish(p, y).unsqueeze(1));
  }
  return cat(outs, 1);
}

}  // namespace loglin::nn
