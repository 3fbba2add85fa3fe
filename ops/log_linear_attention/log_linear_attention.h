// Log-linear attention (SPEC-log-linear-attention.md), the op of loglin.
//
//   o_t = sum_{s <= t} lambda_t[level(t,s)] * exp(G_t - G_s) * (q_t . k_s) * v_s,
//   level(t, s) = bit_length(t XOR s),  G_t = g_0 + ... + g_t.
//
// The implementations, one subfolder each (README.md explains the algorithm
// in the code's own names):
//   - naive.cpp: the T x T definition in plain loops, float64 accumulation,
//     forward and backward. The answer key for tests.
//   - cpu/: the chunked forward and backward of SPEC section 3, the model
//     the CUDA kernels follow. CPU tensors run it.
//   - cuda_v1/ (SIMT) and cuda_v2/ (tensor cores): the CUDA versions of the
//     kernel registry (kernel_versions.h); cuda/ holds what they share.
//   - step.cpp: recurrent decoding, one token at a time, on a
//     LogLinearState (SPEC section 4).
// The entry (log_linear_attention.cpp) checks the inputs, makes a plan
// (plan.cpp: dtype, TF32 or autocast, head split, kernel version, and why),
// runs it (run.cpp) and records the backward (record.cpp).
// plan_log_linear_attention() returns that plan without running anything;
// LOGLIN_EXPLAIN=1 prints each distinct plan once.
//
// dtypes: q, k, v and level_scales share one dtype, f32, f64 (gradcheck) or
// bf16. g is f32 (f64 with f64 inputs). On the CPU bf16 inputs compute in
// f32 (converted differentiably at the entry, o returned in bf16). On CUDA
// bf16 runs the tensor-core version (v2) where it takes the call, f32 under
// bf16 autocast likewise, f32 under float32 matmul precision "high"
// (ops/precision.h) runs v2 on TF32 tensor cores, and everything else the
// SIMT version (v1). State levels have the compute dtype of g (f32, or f64
// with f64 inputs).
#pragma once
#include "core/tensor.h"
#include "ops/log_linear_attention/types.h"
#include "ops/plan.h"

namespace loglin {

// The op, differentiable in q, k, v, g, level_scales
// and the initial state's levels.
//   q, k [B, T, G, K]; v [B, T, H, V]; g [B, T, H]; level_scales [B, T, H, L]
//   with G dividing H (head h reads group h / (H / G)) and
//   L >= bit_length(last position) + 1. Returns o [B, T, H, V].
// The final state is available through log_linear_attention_with_state.
Tensor log_linear_attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g,
                            const Tensor& level_scales,
                            const LogLinearAttentionOptions& options = LogLinearAttentionOptions());

// The same, also returning the final state when options.return_final_state()
// is set. Its levels are a second autograd output: a loss on them
// back-propagates into q, k, v, g (and the initial state).
LogLinearAttentionOutput log_linear_attention_with_state(
    const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g, const Tensor& level_scales,
    const LogLinearAttentionOptions& options = LogLinearAttentionOptions());

// What log_linear_attention_with_state would do with these inputs (checked
// as the op checks them): the compute dtype, TF32 or autocast use, any head
// split, the implementation (cpu, v1, v2) and why. Runs nothing; a gradient
// is assumed wanted when grad mode is on and an input requires one.
KernelPlan plan_log_linear_attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g,
                                     const Tensor& level_scales,
                                     const LogLinearAttentionOptions& options = LogLinearAttentionOptions());

// Recurrent decoding (SPEC section 4): consumes one token per sequence and
// returns its output. Inference only: nothing is recorded for autograd.
//   q, k [N, G, K]; v [N, H, V]; g [N, H]; level_scales [N, H, L]
//   -> o [N, H, V]. state.levels gets a fresh tensor (tensors handed out
//   before are never modified) and every position advances by one.
Tensor log_linear_attention_step(LogLinearState& state, const Tensor& q, const Tensor& k, const Tensor& v,
                                 const Tensor& g, const Tensor& level_scales);

// The answer key: the T x T definition in plain loops with float64
// accumulation, no autograd. Same shapes as the op; o comes back in q's dtype.
// cu_seqlens (optional) as in the options.
Tensor log_linear_attention_naive(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g,
                                  const Tensor& level_scales, const Tensor& cu_seqlens = Tensor());

// The gradients of SPEC section 2 evaluated by the same T x T loops, for
// tests: for the output gradient do [B, T, H, V], each input's gradient in
// that input's dtype. dg is summed pair by pair, not by the dG identity, so
// it checks that identity too.
struct LogLinearAttentionGrads {
  Tensor dq, dk, dv, dg, dlevel_scales;
};
LogLinearAttentionGrads log_linear_attention_naive_backward(const Tensor& q, const Tensor& k, const Tensor& v,
                                                            const Tensor& g, const Tensor& level_scales,
                                                            const Tensor& dout,
                                                            const Tensor& cu_seqlens = Tensor());

}  // namespace loglin
