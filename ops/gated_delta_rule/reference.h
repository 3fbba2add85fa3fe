// The answer keys of the gated delta rule and its log-linear form
// (SPEC-gated-deltanet.md). Slow on purpose; every faster implementation is
// pinned to these in the tests.
//
//   A_t = exp(g_t) (I - beta_t k_t k_t^T),   P(t, s) = A_t ... A_{s+1},
//   o_t = sum_{s <= t} lambda_t[level(t, s)] beta_s (q_t^T P(t, s) k_s) v_s,
//   level(t, s) = bit_length(t XOR s) over absolute positions.
//
// Two independent implementations of the per-level recurrence of SPEC
// section 2 (re-bucket, gate every level by A_t, write beta_t k_t v_t^T into
// level 0, read o_t = sum_l lambda_t[l] S^(l)T q_t):
//   - gated_delta_rule_naive: built from loglin's differentiable primitives,
//     one time step for a whole batch of sequences at once, so autograd gives
//     every gradient. The gradient answer key.
//   - gated_delta_rule_recurrent (+ _backward): plain loops over raw arrays
//     with double accumulation and no autograd; the backward carries one
//     adjoint state per level backwards (SPEC section 3). O(T L K V).
//
// Shapes: q, k [B, T, G, K] with G dividing H (head h reads group
// h / (H / G)); v [B, T, H, V]; g [B, T, H] (log decay; f32, or f64 with f64
// inputs); beta [B, T, H] in q's dtype; level_scales [B, T, H, L] in q's
// dtype, or an undefined Tensor for the plain gated delta rule (a one-level
// state, lambda = 1). L >= bit_length(last position) + 1. q, k, v, beta and
// level_scales share one dtype, f32 or f64; o comes back in it.
#pragma once
#include "core/tensor.h"
#include "ops/chunk_layout/layout.h"
#include "ops/gated_delta_rule/types.h"

namespace loglin {

// q, k (B,T,G,K); v (B,T,H,V); g, beta (B,T,H); level_scales (B,T,H,L) or
// undefined -> o (B,T,H,V), and the final state (N,H,L,K,V) when asked.
// Differentiable in every input and in options.initial_state().levels; the
// final state's levels are a second autograd output.
GatedDeltaRuleOutput gated_delta_rule_naive(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g,
                                            const Tensor& beta, const Tensor& level_scales,
                                            const GatedDeltaRuleOptions& options = GatedDeltaRuleOptions());

// The same operator in plain loops (double accumulation), forward only.
GatedDeltaRuleOutput gated_delta_rule_recurrent(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g,
                                                const Tensor& beta, const Tensor& level_scales,
                                                const GatedDeltaRuleOptions& options = GatedDeltaRuleOptions());

// Each gradient in its input's dtype; dlevel_scales is undefined for the
// plain form and dinitial_state without an initial state.
struct GatedDeltaRuleGrads {
  Tensor dq, dk, dv, dg, dbeta, dlevel_scales, dinitial_state;
};

// Reverse mode through the recurrence: for the output gradient dout
// (B,T,H,V) and the final state's gradient dstate_out (N,H,L,K,V, or
// undefined for none), the gradients of every input.
GatedDeltaRuleGrads gated_delta_rule_recurrent_backward(const Tensor& q, const Tensor& k, const Tensor& v,
                                                        const Tensor& g, const Tensor& beta, const Tensor& level_scales,
                                                        const GatedDeltaRuleOptions& options, const Tensor& dout,
                                                        const Tensor& dstate_out = Tensor());

}  // namespace loglin
