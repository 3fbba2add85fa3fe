// mul's backward for a broadcast operand: sum_to_shape(mul(g, a), shape)
// without the full-size product where the summed dims end in a trailing block
// (ops/elementwise/sum_to_shape_of_product.cpp says how). For backward
// functions: the fused path records no autograd history.
#pragma once
#include "core/tensor.h"

namespace loglin {

Tensor sum_to_shape_of_product(const Tensor& g, const Tensor& a, const Shape& shape);

}  // namespace loglin
