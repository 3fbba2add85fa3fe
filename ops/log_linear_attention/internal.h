// Internal to log-linear attention and the ops that run on its kernels
// (scalar_decay_attention): the plan of a call and running it. The public
// entry (log_linear_attention.cpp) is check -> make_plan -> run; run() ends
// in the one record path (record.h).
#pragma once
#include "core/tensor.h"
#include "ops/chunk_layout/layout.h"
#include "ops/log_linear_attention/head_split.h"
#include "ops/log_linear_attention/kernel_versions.h"
#include "ops/log_linear_attention/types.h"
#include "ops/plan.h"

namespace loglin::lla {

struct Plan {
  KernelPlan kernel;       // what LOGLIN_EXPLAIN prints and plan_log_linear_attention returns
  Layout layout;           // of the whole call
  HeadSplit split = HeadSplit::none;  // pieces make their own plans when they run
  bool backward = true;    // a gradient may be asked for
  // CUDA: the version that runs the call, and the call as it sees it; null on the cpu.
  const KernelVersion* version = nullptr;
  KernelCall call;
};

// Whether the op's backward can be asked for: grad mode on and an input that
// requires a gradient (a version may take a call only without it).
bool wants_grad(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g, const Tensor& level_scales,
                const LogLinearState* st);

// Checks the inputs (a clear error on bad ones) and decides how the call
// runs. allow_head_split: false for callers that want the unsplit call (the
// pieces of a split may split again: K = V = 256 becomes K halves, then V
// panels of each).
Plan make_plan(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g, const Tensor& level_scales,
               const LogLinearAttentionOptions& options, bool wants_backward, bool allow_head_split = true);

// For ops that borrow the tensor-core kernels (scalar_decay_attention): the
// unsplit plan when a tensor-core version (v2) takes the call on CUDA in
// bf16 (bf16 inputs, or f32 under bf16 autocast) or TF32 (f32 under
// precision "high"); a plan with version == nullptr otherwise, never an
// error for a version that does not take the call.
Plan tensor_core_plan(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g, const Tensor& level_scales,
                      const LogLinearAttentionOptions& options, bool wants_backward);

// Runs a plan on the inputs it was made for: converts them to the compute
// dtype (differentiably), runs the pieces of a head split through their own
// plans, runs the implementation and records the backward; o comes back in
// q's dtype.
LogLinearAttentionOutput run(const Plan& plan, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g,
                             const Tensor& level_scales, const LogLinearAttentionOptions& options);

}  // namespace loglin::lla
