#include "nn/mixers/attention.h"

#include <cmath>

#include "autograd/grad_mode.h"
#include "ops/chunk_layout/checks.h"
#include "ops/ops.h"

namespace loglin::nn {

CausalSelfAttention::CausalSelfAttention(const AttentionOptions& o, Generator& gen) : options(o) {
  LOGLIN_CHECK(o.n_heads() > 0 && o.d_model() % o.n_heads() == 0,
               "[CausalSelfAttention] n_heads {} must divide d_model {}", o.n_heads(), o.d_model());
  const int64_t hd = o.d_model() / o.n_heads();
  LOGLIN_CHECK(hd % 2 == 0, "[CausalSelfAttention] head dim {} must be even for RoPE", hd);
  qkv = register_module("qkv", std::make_shared<Linear>(
                                   LinearOptions(o.d_model(), 3 * o.d_model()).bias(false).init_std(o.init_std()), gen));
  out = register_module("out", std::make_shared<Linear>(
                                   LinearOptions(o.d_model(), o.d_model()).bias(false).init_std(o.out_init_std()), gen));
  std::vector<float> c(o.max_seq_len() * hd / 2), s(c.size());
  for (int64_t p = 0; p < o.max_seq_len(); ++p)
    for (int64_t i = 0; i < hd / 2; ++i) {
      double freq = std::pow(o.rope_theta(), -2.0 * static_cast<double>(i) / static_cast<double>(hd));
      c[p * hd / 2 + i] = static_cast<float>(std::cos(p * freq));
      s[p * hd / 2 + i] = static_cast<float>(std::sin(p * freq));
    }
  cos_ = Tensor::from_vector(c, {o.max_seq_len(), hd / 2});
  sin_ = Tensor::from_vector(s, {o.max_seq_len(), hd / 2});
}

// The tables are not parameters or buffers (checkpoints don't carry them),
// so Module::to leaves them on the cpu: keep one copy on the inputs' device.
void CausalSelfAttention::move_tables_to(Device device) const {
  if (cos_.device() != device) {
    cos_ = cos_.to(device);
    sin_ = sin_.to(device);
  }
}

Tensor CausalSelfAttention::rope(const Tensor& x, int64_t start) const {
  const int64_t T = x.size(2);
  LOGLIN_CHECK(start + T <= options.max_seq_len(),
               "[CausalSelfAttention] position {} is past max_seq_len {}", start + T - 1, options.max_seq_len());
  move_tables_to(x.device());
  // One fused op reads the strided head slice and writes q or k contiguous.
  return rotary_embedding(x, cos_.narrow(0, start, T), sin_.narrow(0, start, T));
}

Tensor CausalSelfAttention::attend(const Tensor& x, KVCache* cache) const {
  LOGLIN_CHECK(x.dim() == 3 && x.size(2) == options.d_model(),
               "[CausalSelfAttention] input must be [B, T, {}], got {}", options.d_model(), shape_str(x.shape()));
  const int64_t B = x.size(0), T = x.size(1), H = options.n_heads(), hd = options.d_model() / H;
  const int64_t start = cache ? cache->pos : 0;
  Tensor qkv_ = qkv->forward(x).reshape({B, T, 3, H, hd}).permute({2, 0, 3, 1, 4});  // [3, B, H, T, hd]
  std::vector<Tensor> parts = unbind(qkv_, 0);
  Tensor q = rope(parts[0], start), k = rope(parts[1], start), v = parts[2];
  if (cache) {
    if (cache->pos > 0) {
      k = cat({cache->k, k}, 2);
      v = cat({cache->v, v}, 2);
    }
    cache->k = k.detach().contiguous();
    cache->v = v.detach().contiguous();
    cache->pos += T;
  }
  // Keys sit at positions 0..S-1 and queries at S-T..S-1 (S > T continues the cache).
  // y [B,H,T,hd] is laid out as [B,T,H,hd]: the permute + reshape below are free views.
  Tensor y = causal_attention_bthd(q, k, v, 1.0 / std::sqrt(static_cast<double>(hd)));
  return out->forward(y.permute({0, 2, 1, 3}).reshape({B, T, H * hd}));
}

Tensor CausalSelfAttention::forward(const Tensor& x) const { return attend(x, nullptr); }

// The B rows as one packed sequence of B*T tokens: each token's rotary angle
// is taken at its position in its document (a row gather of the tables), and
// causal_attention_varlen keeps every query inside its document.
Tensor CausalSelfAttention::forward_packed(const Tensor& x, const Tensor& cu_seqlens) const {
  LOGLIN_CHECK(x.dim() == 3 && x.size(2) == options.d_model(),
               "[CausalSelfAttention] input must be [B, T, {}], got {}", options.d_model(), shape_str(x.shape()));
  const int64_t B = x.size(0), T = x.size(1), N = B * T, H = options.n_heads(), hd = options.d_model() / H;
  const std::vector<int64_t> cu = lla::read_cu_seqlens("CausalSelfAttention", cu_seqlens, 1, N);
  std::vector<int64_t> pos(N);
  for (size_t d = 0; d + 1 < cu.size(); ++d) {
    LOGLIN_CHECK(cu[d + 1] - cu[d] <= options.max_seq_len(),
                 "[CausalSelfAttention] document {} has {} tokens, more than max_seq_len {}", d, cu[d + 1] - cu[d],
                 options.max_seq_len());
    for (int64_t r = cu[d]; r < cu[d + 1]; ++r) pos[r] = r - cu[d];
  }
  move_tables_to(x.device());
  const Tensor ids = Tensor::from_vector(pos, {N}).to(x.device());
  const Tensor cos = embedding(cos_, ids), sin = embedding(sin_, ids);  // [N, hd/2], no gradient
  Tensor qkv_ = qkv->forward(x).reshape({1, N, 3, H, hd}).permute({2, 0, 3, 1, 4});  // [3, 1, H, N, hd]
  std::vector<Tensor> parts = unbind(qkv_, 0);
  Tensor q = rotary_embedding(parts[0], cos, sin), k = rotary_embedding(parts[1], cos, sin);
  Tensor y = causal_attention_varlen(q, k, parts[2], 1.0 / std::sqrt(static_cast<double>(hd)), cu_seqlens);
  return out->forward(y.permute({0, 2, 1, 3}).reshape({B, T, H * hd}));  // [1, N, H, hd] -> [B, T, D]
}

Tensor CausalSelfAttention::forward_cached(const Tensor& x, KVCache& cache) const { return attend(x, &cache); }

std::unique_ptr<MixerState> CausalSelfAttention::initial_state(int64_t) const { return std::make_unique<KVCache>(); }

Tensor CausalSelfAttention::step(const Tensor& x, MixerState& state) const {
  auto* cache = dynamic_cast<KVCache*>(&state);
  LOGLIN_CHECK(cache != nullptr, "[CausalSelfAttention] step() needs the state from its own initial_state()");
  NoGradGuard no_grad;
  return attend(x, cache);
}

}  // namespace loglin::nn
