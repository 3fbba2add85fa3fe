// The entry of log-linear attention. It reads top to bottom: check the
// inputs and make the plan (plan.cpp: dtype, TF32 or autocast, head split,
// kernel version, and why), run the plan (run.cpp), which records the
// backward (record.cpp). LOGLIN_EXPLAIN=1 prints each distinct plan once.
#include "ops/log_linear_attention/log_linear_attention.h"

#include "ops/explain.h"
#include "ops/log_linear_attention/checks.h"
#include "ops/log_linear_attention/internal.h"

namespace loglin {

LogLinearAttentionOutput log_linear_attention_with_state(const Tensor& q, const Tensor& k, const Tensor& v,
                                                         const Tensor& g, const Tensor& level_scales,
                                                         const LogLinearAttentionOptions& options) {
  // q, k (B,T,G,K); v (B,T,H,V); g (B,T,H); level_scales (B,T,H,L) -> o (B,T,H,V).
  const LogLinearState* st = options.has_initial_state() ? &options.initial_state() : nullptr;
  const lla::Plan plan = lla::make_plan(q, k, v, g, level_scales, options, lla::wants_grad(q, k, v, g, level_scales, st));
  explain(lla::kOpName, plan.kernel.str());
  return lla::run(plan, q, k, v, g, level_scales, options);
}

KernelPlan plan_log_linear_attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g,
                                     const Tensor& level_scales, const LogLinearAttentionOptions& options) {
  const LogLinearState* st = options.has_initial_state() ? &options.initial_state() : nullptr;
  return lla::make_plan(q, k, v, g, level_scales, options, lla::wants_grad(q, k, v, g, level_scales, st)).kernel;
}

Tensor log_linear_attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g,
                            const Tensor& level_scales, const LogLinearAttentionOptions& options) {
  LOGLIN_CHECK(!options.return_final_state(),
               "[{}] return_final_state() is set: call log_linear_attention_with_state to receive the state",
               lla::kOpName);
  return log_linear_attention_with_state(q, k, v, g, level_scales, options).o;
}

LogLinearState LogLinearState::zeros(int64_t N, int64_t H, int64_t L, int64_t K, int64_t V, DType dtype) {
  return {Tensor::zeros({N, H, L, K, V}, dtype), std::vector<int64_t>(static_cast<size_t>(N), 0)};
}

}  // namespace loglin
