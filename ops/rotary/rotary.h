// Rotary position embedding (RoPE, half-split form) as one op:
//   out[..., t, i]        = x1 * cos[t, i] - x2 * sin[t, i]
//   out[..., t, half + i] = x1 * sin[t, i] + x2 * cos[t, i]
// with x1 = x[..., t, i], x2 = x[..., t, half + i], half = D / 2.
// x: [..., T, D] in any strides (e.g. a head slice of a permuted projection);
// cos, sin: [T, D/2] tables, constants (no gradient). The output is a new
// contiguous tensor; the backward rotates the gradient back (angle -theta).
// One pass each way, where the composed form (two narrows, four products, a
// sum, a difference and a cat) costs about a dozen passes.
#pragma once
#include "core/tensor.h"

namespace loglin {

Tensor rotary_embedding(const Tensor& x, const Tensor& cos, const Tensor& sin);

}  // namespace loglin
