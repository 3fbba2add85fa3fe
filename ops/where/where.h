// Selection by a boolean mask. The mask is an integer tensor (i32/i64,
// nonzero = true) or a float tensor (nonzero = true); it broadcasts.
#pragma once
#include "core/tensor.h"

namespace loglin {

// cond ? a : b, elementwise with broadcasting of all three.
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);
// x with `value` wherever mask is true.
Tensor masked_fill(const Tensor& x, const Tensor& mask, double value);

}  // namespace loglin
