// Decoding with the gated delta rule (SPEC-gated-deltanet.md section 2): one
// token per sequence on a GatedDeltaState, O(L K V) per head. The log-linear
// form re-buckets the levels as log-linear attention's step does, gates every
// level with the same A_t = exp(g_t) (I - beta_t k_t k_t^T), writes
// beta_t k_t v_t^T into level 0 and reads o_t = sum_l lambda_t[l] S^(l)T q_t;
// the plain form is one level with lambda = 1.
#pragma once
#include "core/tensor.h"
#include "ops/gated_delta_rule/types.h"

namespace loglin {

// q, k (N,G,K); v (N,H,V); g, beta (N,H); level_scales (N,H,L), or undefined
// for the plain form; state.levels (N,H,L,K,V) with L = 1 for the plain form
// -> o (N,H,V) in the state's dtype.
// Inference only: nothing is recorded for autograd. state.levels gets a fresh
// tensor (tensors handed out before are never written) and every position
// advances by one. f32 or f64: q, k, v, beta and level_scales share one
// dtype (bf16 is computed in f32); the state has the compute dtype; g is f32
// (or f64 with f64 inputs). On CUDA the step is the op's forward over one
// token from the state (the registered CUDA version).
Tensor gated_delta_rule_step(GatedDeltaState& state, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g,
                             const Tensor& beta, const Tensor& level_scales = Tensor());

}  // namespace loglin
