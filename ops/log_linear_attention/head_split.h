// Internal to log-linear attention: head dims of 256 on the tensor-core
// version (v2) by exact rewrites into narrower calls, with differentiable ops:
//   - V = 256 (v_panels): the columns of v are independent (o is linear in
//     v), so v [B, T, H, 256] is read as [B, T, 4H, 64] (head h's panel p
//     becomes head 4h + p), g and level_scales repeat per panel, and o comes
//     back by the same reshape; the gradients of g and level_scales sum over
//     the panels through expand's backward.
//   - K = 256 (k_halves): the scores q . k and the states' contraction with
//     q are sums over K, so o is the sum of two calls on the halves
//     q[..., :128], k[..., :128] and q[..., 128:], k[..., 128:].
// Why: v2's backward kernels stop at 128 (their accumulators and tiles do
// not fit), and its TF32 kernels at 128 both ways, so without the rewrite
// such calls run v1 (or v2's forward with v1's backward), 10x slower or
// worse. The same V panels serve TF32 training at V = 128 with K = 64 or
// 128, whose f32 backward tiles do not fit in shared memory. The narrow
// calls cost more forward work (the V-side work repeats per K half, the
// scores per V panel), so bf16 inference (no gradient wanted) keeps v2's
// native 256 forward.
// The plan (plan.cpp) decides with head_split_for(); run.cpp runs the
// pieces through their own plans (never through the public entry), which may
// split a piece again (K = V = 256: K halves, then V panels of each).
#pragma once
#include <functional>
#include <string>

#include "core/tensor.h"
#include "ops/log_linear_attention/types.h"

namespace loglin::lla {

enum class HeadSplit { none, v_panels, k_halves };

// The rewrite a call gets: CUDA inputs that v2 would take (bf16, f32 under
// bf16 autocast, or f32 under float32 matmul precision "high"; kernel choice
// auto or v2; compute capability >= 8.0), K or V = 256 and the other in
// {32, 64, 128, 256} (or TF32 with a gradient wanted where v2's f32 backward
// has no kernel for K x V), chunk 64, no initial or final state; for bf16
// only when a gradient is wanted. none otherwise. The inputs have passed the
// op's checks.
HeadSplit head_split_for(const Tensor& q, const Tensor& v, const Tensor& g, const Tensor& level_scales,
                         const LogLinearAttentionOptions& options, bool wants_grad);

// One line for the plan: how the call is cut and why.
std::string describe(HeadSplit split, int64_t K, int64_t V);

// o of one narrower call (q, k, v, g, level_scales of the piece).
using PieceRunner = std::function<Tensor(const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&)>;

// o of the whole call, assembled from the pieces `piece` computes.
Tensor run_head_split(HeadSplit split, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g,
                      const Tensor& level_scales, const PieceRunner& piece);

}  // namespace loglin::lla
