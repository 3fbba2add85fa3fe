#include "nn/mixers/gated_deltanet.h"

#include <cmath>

#include "autograd/grad_mode.h"
#include "nn/mixers/mamba2.h"
#include "ops/gated_delta_rule/gated_delta_rule.h"
#include "ops/ops.h"

namespace loglin::nn {
namespace {

// The epsilon of the q and k L2 norms: x / sqrt(sum(x^2) + eps).
constexpr double kL2Eps = 1e-6;

struct GatedDeltaNetState : MixerState {
  Tensor conv;          // [B, W-1, conv_dim]: the last pre-conv q, k, v inputs
  GatedDeltaState ssm;  // levels [B, H, L, K, V]; one level for GatedDeltaNet
};

// x [..., K] -> x / sqrt(sum(x^2) + eps) * scale. rms_norm divides by the
// root mean square instead, so its eps is eps / K and its output is sqrt(K)
// times too large: one fused op each way instead of five.
Tensor l2_normalize(const Tensor& x, double scale) {
  const double K = static_cast<double>(x.size(-1));
  return rms_norm(x, Tensor(), kL2Eps / K) * (scale / std::sqrt(K));
}

}  // namespace

struct GatedDeltaNetMixer::Parts {
  Tensor z;        // [..., H, V]: the output gate's input
  Tensor q, k;     // [..., H, K]
  Tensor v;        // [..., H, V]
  Tensor g, beta;  // [..., H]
  Tensor lambda;   // [..., H, L] (log-linear) or undefined
};

GatedDeltaNetMixer::GatedDeltaNetMixer(const GatedDeltaNetOptions& o, bool log_linear, Generator& gen)
    : options(o), log_linear_(log_linear) {
  const char* name = log_linear ? "LogLinearGatedDeltaNet" : "GatedDeltaNet";
  LOGLIN_CHECK(o.d_model() > 0 && o.n_heads() > 0 && o.head_dim() > 0 && o.expand_v() > 0 && o.conv_kernel() > 0,
               "[{}] d_model {}, n_heads {}, head_dim {}, expand_v {} and conv_kernel {} must be positive", name,
               o.d_model(), o.n_heads(), o.head_dim(), o.expand_v(), o.conv_kernel());
  LOGLIN_CHECK(o.max_seq_len() > 0, "[{}] max_seq_len must be positive, got {}", name, o.max_seq_len());
  const int64_t H = o.n_heads(), K = o.head_dim();
  value_dim_ = o.expand_v() * K;
  conv_dim_ = H * (2 * K + value_dim_);
  n_levels_ = log_linear ? levels_for_length(o.max_seq_len()) : 1;
  const int64_t V = value_dim_, L = n_levels_;
  const int64_t d_proj = conv_dim_ + H * V + 2 * H + (log_linear ? H * L : 0);
  in_proj = register_module("in_proj", std::make_shared<Linear>(
                                           LinearOptions(o.d_model(), d_proj).bias(false).init_std(o.init_std()), gen));
  // The paper's short conv: no bias, SiLU fused into it.
  conv = register_module("conv", std::make_shared<CausalConv1d>(CausalConv1dOptions(conv_dim_, o.conv_kernel())
                                                                    .bias(false)
                                                                    .activation(ConvActivation::silu),
                                                                gen));
  DecayInit decay = mamba2_decay_init(H, o.dt_min(), o.dt_max(), gen);
  A_log = register_parameter("A_log", decay.A_log);
  dt_bias = register_parameter("dt_bias", decay.dt_bias);
  if (log_linear) Lambda = register_parameter("Lambda", Tensor::ones({H, L}));
  norm = register_module("norm", std::make_shared<RMSNorm>(NormOptions(V).eps(o.norm_eps())));
  out_proj = register_module(
      "out_proj",
      std::make_shared<Linear>(LinearOptions(H * V, o.d_model()).bias(false).init_std(o.out_init_std()), gen));
}

// in_proj's output as views: qkv (the conv's input), z, a, b and, for the
// log-linear form, the level-scale logits dl.
std::vector<Tensor> GatedDeltaNetMixer::split_projection(const Tensor& proj) const {
  const int64_t H = options.n_heads();
  std::vector<int64_t> sizes{conv_dim_, H * value_dim_, H, H};
  if (log_linear_) sizes.push_back(H * n_levels_);
  return split(proj, -1, sizes);
}

// pieces: split_projection's views; qkv_act [..., conv_dim]: silu(conv(qkv)).
GatedDeltaNetMixer::Parts GatedDeltaNetMixer::project(const std::vector<Tensor>& pieces,
                                                      const Tensor& qkv_act) const {
  const int64_t H = options.n_heads(), K = options.head_dim(), V = value_dim_;
  Shape lead(qkv_act.shape().begin(), qkv_act.shape().end() - 1);
  auto shaped = [&](const Tensor& t, std::initializer_list<int64_t> tail) {
    Shape s = lead;
    s.insert(s.end(), tail);
    return t.reshape(s);
  };
  std::vector<Tensor> qkv = split(qkv_act, -1, {H * K, H * K, H * V});
  Parts p;
  p.q = l2_normalize(shaped(qkv[0], {H, K}), 1.0 / std::sqrt(static_cast<double>(K)));
  p.k = l2_normalize(shaped(qkv[1], {H, K}), 1.0);
  p.v = shaped(qkv[2], {H, V});
  p.z = shaped(pieces[1], {H, V});
  p.g = softplus(pieces[2] + dt_bias) * neg(exp(A_log));
  p.beta = sigmoid(pieces[3]);
  if (log_linear_) p.lambda = softplus(shaped(pieces[4], {H, n_levels_}) * Lambda);
  return p;
}

// y [..., H, V] -> out_proj(rms_norm_gated(y, z)), normalised per head.
Tensor GatedDeltaNetMixer::finish(const Parts& p, const Tensor& y) const {
  Tensor out = rms_norm_gated(y, p.z, norm->weight, norm->options.eps());
  Shape flat(out.shape().begin(), out.shape().end() - 2);
  flat.push_back(options.n_heads() * value_dim_);
  return out_proj->forward(out.reshape(flat));
}

Tensor GatedDeltaNetMixer::forward(const Tensor& x) const {
  LOGLIN_CHECK(x.dim() == 3 && x.size(2) == options.d_model(), "[{}] input must be [B, T, {}], got {}", type_name(),
               options.d_model(), shape_str(x.shape()));
  return mix(x, Tensor());
}

// The B rows become one packed sequence of B*T tokens (every row start is a
// document start): the projections act per token, the conv and the delta
// rule take cu_seqlens.
Tensor GatedDeltaNetMixer::forward_packed(const Tensor& x, const Tensor& cu_seqlens) const {
  LOGLIN_CHECK(x.dim() == 3 && x.size(2) == options.d_model(), "[{}] input must be [B, T, {}], got {}", type_name(),
               options.d_model(), shape_str(x.shape()));
  const int64_t B = x.size(0), T = x.size(1), D = options.d_model();
  return mix(x.reshape({1, B * T, D}), cu_seqlens).reshape({B, T, D});
}

Tensor GatedDeltaNetMixer::mix(const Tensor& x, const Tensor& cu_seqlens) const {
  std::vector<Tensor> pieces = split_projection(in_proj->forward(x));
  Parts p = project(pieces, conv->forward(pieces[0], cu_seqlens));
  auto op = GatedDeltaRuleOptions().chunk_size(options.chunk_size()).cu_seqlens(cu_seqlens);
  Tensor y = log_linear_ ? log_linear_gated_delta_rule(p.q, p.k, p.v, p.g, p.beta, p.lambda, op)
                         : gated_delta_rule(p.q, p.k, p.v, p.g, p.beta, op);
  return finish(p, y);
}

std::unique_ptr<MixerState> GatedDeltaNetMixer::initial_state(int64_t batch) const {
  auto st = std::make_unique<GatedDeltaNetState>();
  st->conv = conv->initial_state(batch);
  st->ssm = GatedDeltaState::zeros(batch, options.n_heads(), n_levels_, options.head_dim(), value_dim_,
                                   A_log.dtype());
  st->ssm.levels = st->ssm.levels.to(A_log.device());
  return st;
}

Tensor GatedDeltaNetMixer::step(const Tensor& x, MixerState& state) const {
  auto* st = dynamic_cast<GatedDeltaNetState*>(&state);
  LOGLIN_CHECK(st != nullptr, "[{}] step() needs the state from its own initial_state()", type_name());
  LOGLIN_CHECK(x.dim() == 3 && x.size(2) == options.d_model(), "[{}] step input must be [B, T, {}], got {}",
               type_name(), options.d_model(), shape_str(x.shape()));
  NoGradGuard no_grad;
  if (x.size(1) == 1) {  // decoding: the recurrent step on [B, ...] rows
    std::vector<Tensor> pieces = split_projection(in_proj->forward(x.select(1, 0)));
    Parts p = project(pieces, conv->step(pieces[0], st->conv));
    Tensor y = gated_delta_rule_step(st->ssm, p.q, p.k, p.v, p.g, p.beta, p.lambda);  // [B, H, V]
    return finish(p, y).unsqueeze(1);
  }
  // A prompt: the chunked op continues from the state and hands back the next.
  std::vector<Tensor> pieces = split_projection(in_proj->forward(x));
  Parts p = project(pieces, conv->prefill(pieces[0], st->conv));
  auto op = GatedDeltaRuleOptions().chunk_size(options.chunk_size()).initial_state(st->ssm).return_final_state();
  GatedDeltaRuleOutput r = log_linear_
                               ? log_linear_gated_delta_rule_with_state(p.q, p.k, p.v, p.g, p.beta, p.lambda, op)
                               : gated_delta_rule_with_state(p.q, p.k, p.v, p.g, p.beta, op);
  st->ssm = r.final_state;
  return finish(p, r.o);
}

}  // namespace loglin::nn
