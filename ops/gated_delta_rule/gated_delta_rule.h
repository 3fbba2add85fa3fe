// The gated delta rule (Gated DeltaNet's mixer op) and its log-linear form
// (H-GDN), SPEC-gated-deltanet.md:
//
//   A_t = exp(g_t) (I - beta_t k_t k_t^T),   S_t = A_t S_{t-1} + beta_t k_t v_t^T,   o_t = S_t^T q_t;
//   log-linear: o_t = sum_{s <= t} lambda_t[level(t, s)] beta_s (q_t^T A_t ... A_{s+1} k_s) v_s,
//   level(t, s) = bit_length(t XOR s) over absolute positions.
//
// Two entries over one implementation: gated_delta_rule (no level scales, a
// one-level state) and log_linear_gated_delta_rule. Implementations, one
// place each (README.md in this folder explains the algorithm):
//   - reference.h: the naive key (loglin's own differentiable primitives,
//     autograd gives its gradients) and an independent per-level recurrence
//     with its reverse-mode backward; for tests.
//   - cpu/: the chunked WY forward and the hand-written backward; CPU tensors
//     run it (OpenMP over (sequence, head)).
//   - kernel_versions.h: the CUDA versions (cuda_v1/: the per-level
//     recurrence, simple and correct), chosen through the kernel registry
//     under the name gated_delta_rule. CUDA tensors run v1: correct (its
//     tests pass on an H100) but sequential in T, far from the fast
//     kernels still to come.
//   - step.h: decoding, one token per sequence on a GatedDeltaState.
// The entry (gated_delta_rule.cpp) checks the inputs, makes a plan
// (plan_gated_delta_rule() returns it; LOGLIN_EXPLAIN=1 prints it), runs it
// and records the backward (record.h: one record path for CPU and CUDA).
//
// Shapes: q, k [B, T, G, K] with G dividing H (head h reads group
// h / (H / G)); v [B, T, H, V]; g [B, T, H] (log decay <= 0; f32, or f64
// with f64 inputs); beta [B, T, H] (usually in (0, 1)); level_scales
// [B, T, H, L] with L >= bit_length(last position) + 1. Any T >= 1, any
// K, V >= 1. dtypes: q, k, v, beta and level_scales share f32 or f64 (f64
// for gradcheck); bf16 inputs compute in f32 (converted at the entry,
// differentiably) and o comes back in bf16. States have the compute dtype.
#pragma once
#include "core/tensor.h"
#include "ops/gated_delta_rule/reference.h"
#include "ops/gated_delta_rule/step.h"
#include "ops/gated_delta_rule/types.h"
#include "ops/plan.h"

namespace loglin {

// The gated delta rule: o [B, T, H, V], differentiable in q, k, v, g, beta
// and the initial state's levels ([N, H, 1, K, V]).
Tensor gated_delta_rule(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g, const Tensor& beta,
                        const GatedDeltaRuleOptions& options = GatedDeltaRuleOptions());
// The same, also returning the final state when options.return_final_state()
// is set (a second autograd output).
GatedDeltaRuleOutput gated_delta_rule_with_state(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g,
                                                 const Tensor& beta,
                                                 const GatedDeltaRuleOptions& options = GatedDeltaRuleOptions());

// The log-linear form: o [B, T, H, V], differentiable in q, k, v, g, beta,
// level_scales and the initial state's levels ([N, H, L, K, V]).
Tensor log_linear_gated_delta_rule(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g,
                                   const Tensor& beta, const Tensor& level_scales,
                                   const GatedDeltaRuleOptions& options = GatedDeltaRuleOptions());
GatedDeltaRuleOutput log_linear_gated_delta_rule_with_state(
    const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g, const Tensor& beta,
    const Tensor& level_scales, const GatedDeltaRuleOptions& options = GatedDeltaRuleOptions());

// What either entry would run for these inputs and why (level_scales
// undefined: the plain form). Runs nothing.
KernelPlan plan_gated_delta_rule(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g,
                                 const Tensor& beta, const Tensor& level_scales = Tensor(),
                                 const GatedDeltaRuleOptions& options = GatedDeltaRuleOptions());

}  // namespace loglin
