// K or V = 256 on v2 through narrower calls (head_split.h).
#include "ops/log_linear_attention/head_split.h"

#include <fmt/format.h>

#include "ops/autocast.h"
#include "ops/elementwise/binary.h"
#include "ops/kernel_registry.h"
#include "ops/log_linear_attention/checks.h"
#include "ops/precision.h"
#include "ops/shape/view_ops.h"
#if LOGLIN_WITH_CUDA
#include "ops/log_linear_attention/cuda_v2/v2_backward_cuda.h"
#include "ops/log_linear_attention/cuda_v2/v2_forward_cuda.h"
#endif

namespace loglin::lla {
namespace {

constexpr int64_t kWide = 256, kHalfK = 128, kPanelV = 64;

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

#if LOGLIN_WITH_CUDA
bool head_dim_ok(int64_t d) { return d == 32 || d == 64 || d == 128 || d == 256; }

enum class Path { none, bf16, tf32 };

// The v2 kernels a call would reach: bf16 inputs and f32 ones under bf16
// autocast run its bf16 kernels, f32 ones under precision "high" its TF32 kernels.
Path v2_path(const Tensor& q, const Tensor& g) {
  if (g.dtype() != DType::f32) return Path::none;
  if (q.dtype() == DType::bf16) return Path::bf16;
  if (q.dtype() != DType::f32) return Path::none;
  if (autocast_dtype() == DType::bf16) return Path::bf16;
  return float32_matmul_allows_tf32() ? Path::tf32 : Path::none;
}
#endif

}  // namespace

HeadSplit head_split_for(const Tensor& q, const Tensor& v, const Tensor& g, const Tensor& level_scales,
                         const LogLinearAttentionOptions& options, bool wants_grad) {
#if LOGLIN_WITH_CUDA
  if (!q.device().is_cuda() || options.has_initial_state() || options.return_final_state() ||
      options.chunk_size() != 64)
    return HeadSplit::none;
  const int64_t K = q.size(3), V = v.size(3);
  if (!head_dim_ok(K) || !head_dim_ok(V)) return HeadSplit::none;
  const Path path = v2_path(q, g);
  if (path == Path::none) return HeadSplit::none;
  const int dev = q.device().index;
  const std::string choice = kernel_version_choice(kOpName);
  if (!(kernels::is_auto(choice) || choice == "v2") || !v2::device_ok(dev)) return HeadSplit::none;
  // TF32 training where the backward's f32 tiles do not fit (K = 64 or 128
  // with V = 128): V panels of 64, whose backward has kernels.
  const bool tf32_panels = path == Path::tf32 && wants_grad && K != kWide && V > kPanelV && V != kWide &&
                           !v2::backward_shape_ok(K, V, 64, dev, true) &&
                           v2::backward_shape_ok(K, kPanelV, 64, dev, true);
  if (!(K == kWide || V == kWide || tf32_panels)) return HeadSplit::none;
  if (path == Path::bf16 && !wants_grad) return HeadSplit::none;  // v2's native 256 forward is faster
  return K == kWide ? HeadSplit::k_halves : HeadSplit::v_panels;
#else
  (void)q, (void)v, (void)g, (void)level_scales, (void)options, (void)wants_grad;
  return HeadSplit::none;  // no v2 without CUDA
#endif
}

std::string describe(HeadSplit split, int64_t K, int64_t V) {
  switch (split) {
    case HeadSplit::k_halves:
      return fmt::format("K = {} as two calls on K halves of {} whose outputs add (v2's backward stops at {})", K,
                         kHalfK, kHalfK);
    case HeadSplit::v_panels:
      return fmt::format("V = {} as {} heads of {} each (v2's backward has kernels for V = {})", V, V / kPanelV,
                         kPanelV, kPanelV);
    default: return "";
  }
}

Tensor run_head_split(HeadSplit split, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g,
                      const Tensor& level_scales, const PieceRunner& piece) {
  const int64_t V = v.size(3);
  if (split == HeadSplit::k_halves) {
    const DType d = q.dtype();
    const Tensor q32 = as_f32(q), k32 = as_f32(k);
    Tensor o;
    for (int64_t start = 0; start < q.size(3); start += kHalfK) {
      const Tensor part = piece(last_dim_slice(q32, start, kHalfK, d), last_dim_slice(k32, start, kHalfK, d), v, g,
                                level_scales);
      o = o.defined() ? add(o, as_f32(part)) : as_f32(part);
    }
    return back_to(o, v.dtype() == DType::bf16 ? DType::bf16 : o.dtype());
  }
  // v_panels: panels of 64 columns as heads of their own.
  const int64_t B = v.size(0), T = v.size(1), H = v.size(2), P = V / kPanelV;
  const Tensor vp = reshape(v.is_contiguous() ? v : back_to(contiguous(as_f32(v)), v.dtype()), {B, T, H * P, kPanelV});
  const Tensor o = piece(q, k, vp, repeat_heads(g, P), repeat_heads(level_scales, P));
  return reshape(o, {B, T, H, V});
}

}  // namespace loglin::lla
