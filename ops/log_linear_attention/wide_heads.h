// Head dims of 256 on the tensor-core version (v2) by exact rewrites into
// narrower calls, made at the op's entry with differentiable ops:
//   - V = 256: the columns of v are independent (o is linear in v), so v
//     [B, T, H, 256] is read as [B, T, 4H, 64] (head h's panel p becomes
//     head 4h + p), g and level_scales repeat per panel, and o comes back by
//     the same reshape; the gradients of g and level_scales sum over the
//     panels through expand's backward.
//   - K = 256: the scores q . k and the states' contraction with q are sums
//     over K, so o is the sum of two calls on the halves q[..., :128],
//     k[..., :128] and q[..., 128:], k[..., 128:].
// Why: v2's backward kernels stop at 128 (their accumulators and tiles do
// not fit), and its TF32 kernels at 128 both ways, so without the rewrite
// such calls run v1 (or v2's forward with v1's backward), 10x slower or
// worse. The same V panels serve TF32 training at V = 128 with K = 64 or
// 128, whose f32 backward tiles do not fit in shared memory. The narrow calls cost more forward work (the V-side work repeats
// per K half, the scores per V panel), so bf16 inference (no gradient
// wanted) keeps v2's native 256 forward.
#pragma once
#include <optional>

#include "ops/log_linear_attention/log_linear_attention.h"

namespace loglin::lla {

// The rewritten call when it applies: CUDA inputs that v2 would take (bf16,
// f32 under bf16 autocast, or f32 with TF32 allowed; kernel choice auto or
// v2; compute capability >= 8.0), K or V = 256 and the other in
// {32, 64, 128, 256} (or TF32 with a gradient wanted where v2's f32
// backward has no kernel for K x V), chunk 64, no initial or final state;
// for bf16 only when a gradient is wanted. nullopt otherwise, with nothing
// computed. wants_grad: the op's backward can be asked for (the entry's
// check: grad mode on and an input requiring a gradient).
std::optional<Tensor> wide_heads_through_narrow_calls(const Tensor& q, const Tensor& k, const Tensor& v,
                                                      const Tensor& g, const Tensor& level_scales,
                                                      const LogLinearAttentionOptions& options, bool wants_grad);

}  // namespace loglin::lla
