// Internal to the gated delta rule: its input checks, shared by the entry
// (gated_delta_rule.cpp), the answer keys (reference.cpp) and the
// implementations.
#pragma once
#include "core/tensor.h"
#include "ops/chunk_layout/layout.h"
#include "ops/gated_delta_rule/types.h"

namespace loglin::gdr {

// The input checks every gated delta rule entry shares, errors naming `op`:
// check_qkvg's, then beta, level_scales, the initial state and the levels the
// last position needs. Returns the layout with L = 1 for the plain form and
// each sequence's start position from the initial state.
lla::Layout check_inputs(const char* op, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g,
                         const Tensor& beta, const Tensor& level_scales, const GatedDeltaRuleOptions& options);

}  // namespace loglin::gdr
