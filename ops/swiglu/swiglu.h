// SwiGLU's gating product, out = silu(a) * b elementwise (a, b of one
// shape): the hidden activation of the SwiGLU MLP, a = x W_gate, b = x W_up.
// One pass forward and one backward that gives da and db together, where the
// composite silu(a) * b (its reference in the tests) costs silu, mul and
// three backward passes over the hidden tensor.
#pragma once
#include "core/tensor.h"

namespace loglin {

Tensor swiglu(const Tensor& a, const Tensor& b);

}  // namespace loglin
