// K or V = 256 on v2 through narrower calls (wide_heads.h).
#include "ops/log_linear_attention/wide_heads.h"

#include "ops/autocast.h"
#include "ops/elementwise/binary.h"
#include "ops/log_linear_attention/kernel_versions.h"
#include "ops/shape/view_ops.h"
#if LOGLIN_WITH_CUDA
#include "ops/log_linear_attention/v2_backward_cuda.h"
#include "ops/log_linear_attention/v2_forward_cuda.h"
#endif

namespace loglin::lla {

#if LOGLIN_WITH_CUDA
namespace {

constexpr int64_t kWide = 256, kHalfK = 128, kPanelV = 64;

bool head_dim_ok(int64_t d) { return d == 32 || d == 64 || d == 128 || d == 256; }

enum class Path { none, bf16, tf32 };

// The v2 kernels a call would reach: bf16 inputs and f32 ones under bf16
// autocast run its bf16 kernels, f32 ones with TF32 allowed its TF32 kernels.
Path v2_path(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g, const Tensor& ls) {
  if (g.dtype() != DType::f32) return Path::none;
  auto all = [&](DType d) { return q.dtype() == d && k.dtype() == d && v.dtype() == d && ls.dtype() == d; };
  if (all(DType::bf16)) return Path::bf16;
  if (!all(DType::f32)) return Path::none;
  if (autocast_dtype() == DType::bf16) return Path::bf16;
  return log_linear_attention_allow_tf32() ? Path::tf32 : Path::none;
}

// Shapes the rewrite can read; anything else goes to the op's own checks.
bool shapes_ok(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g, const Tensor& ls) {
  if (q.dim() != 4 || k.dim() != 4 || v.dim() != 4 || g.dim() != 3 || ls.dim() != 4) return false;
  if (q.shape() != k.shape()) return false;
  const int64_t B = q.size(0), T = q.size(1), H = v.size(2);
  return v.size(0) == B && v.size(1) == T && g.size(0) == B && g.size(1) == T && g.size(2) == H && ls.size(0) == B &&
         ls.size(1) == T && ls.size(2) == H && H % q.size(2) == 0;
}

// bf16 goes through f32 around the shape ops, so that their backward (a
// scatter into zeros, a sum over copies) never computes in bf16, which the
// CUDA elementwise ops do not take.
Tensor as_f32(const Tensor& x) { return x.dtype() == DType::bf16 ? x.to(DType::f32) : x; }
Tensor back_to(const Tensor& x, DType d) { return x.dtype() == d ? x : x.to(d); }

// x[..., start : start + len] (last dim), contiguous, in x's dtype.
Tensor last_dim_slice(const Tensor& x32, int64_t start, int64_t len, DType d) {
  return back_to(contiguous(narrow(x32, x32.dim() - 1, start, len)), d);
}

// x [B, T, H, ...] with each head repeated P times in a row: [B, T, H P, ...].
Tensor repeat_heads(const Tensor& x, int64_t P) {
  const Tensor x32 = as_f32(x);
  Shape expanded = x32.shape(), merged = x32.shape();
  expanded.insert(expanded.begin() + 3, P);
  merged[2] *= P;
  return back_to(reshape(contiguous(expand(unsqueeze(x32, 3), expanded)), merged), x.dtype());
}

}  // namespace

std::optional<Tensor> wide_heads_through_narrow_calls(const Tensor& q, const Tensor& k, const Tensor& v,
                                                      const Tensor& g, const Tensor& level_scales,
                                                      const LogLinearAttentionOptions& options, bool wants_grad) {
  if (!q.device().is_cuda() || options.has_initial_state() || options.return_final_state() ||
      options.chunk_size() != 64 || !shapes_ok(q, k, v, g, level_scales))
    return std::nullopt;
  const int64_t K = q.size(3), V = v.size(3);
  if (!head_dim_ok(K) || !head_dim_ok(V)) return std::nullopt;
  const Path path = v2_path(q, k, v, g, level_scales);
  if (path == Path::none) return std::nullopt;
  const int dev = q.device().index;
  const std::string choice = kernel_version_choice();
  if (!(choice == "auto" || choice == "v2") || !v2::device_ok(dev)) return std::nullopt;
  // TF32 training where the backward's f32 tiles do not fit (K = 64 or 128
  // with V = 128): V panels of 64, whose backward has kernels.
  const bool tf32_panels = path == Path::tf32 && wants_grad && K != kWide && V > kPanelV && V != kWide &&
                           !v2::backward_shape_ok(K, V, 64, dev, true) &&
                           v2::backward_shape_ok(K, kPanelV, 64, dev, true);
  if (!(K == kWide || V == kWide || tf32_panels)) return std::nullopt;
  if (path == Path::bf16 && !wants_grad) return std::nullopt;  // v2's native 256 forward is faster

  if (K == kWide) {
    const DType d = q.dtype();
    const Tensor q32 = as_f32(q), k32 = as_f32(k);
    Tensor o;
    for (int64_t start = 0; start < K; start += kHalfK) {
      const Tensor part = log_linear_attention(last_dim_slice(q32, start, kHalfK, d),
                                               last_dim_slice(k32, start, kHalfK, d), v, g, level_scales, options);
      o = o.defined() ? add(o, as_f32(part)) : as_f32(part);
    }
    return back_to(o, v.dtype() == DType::bf16 ? DType::bf16 : o.dtype());
  }
  // V == 256 (or a TF32 V without backward kernels): panels of 64 columns as heads of their own.
  const int64_t B = v.size(0), T = v.size(1), H = v.size(2), P = V / kPanelV;
  const Tensor vp = reshape(v.is_contiguous() ? v : back_to(contiguous(as_f32(v)), v.dtype()), {B, T, H * P, kPanelV});
  const Tensor o = log_linear_attention(q, k, vp, repeat_heads(g, P), repeat_heads(level_scales, P), options);
  return reshape(o, {B, T, H, V});
}
#else
std::optional<Tensor> wide_heads_through_narrow_calls(const Tensor&, const Tensor&, const Tensor&, const Tensor&,
                                                      const Tensor&, const LogLinearAttentionOptions&, bool) {
  return std::nullopt;  // no v2 without CUDA
}
#endif

}  // namespace loglin::lla
