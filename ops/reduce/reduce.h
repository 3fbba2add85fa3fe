// Reductions over dims (with keepdim), and sum_to_shape, which undoes
// broadcasting in backward passes (and its fused form for products).
#pragma once
#include "core/tensor.h"

namespace loglin {

Tensor sum(const Tensor& x, const Shape& dims = {}, bool keepdim = false);   // {} = every dim
Tensor mean(const Tensor& x, const Shape& dims = {}, bool keepdim = false);  // {} = every dim
// Max over one dim; the gradient goes to the first maximal element.
Tensor max(const Tensor& x, int64_t dim, bool keepdim = false);
// Max over every element (a 0-dim tensor).
Tensor max(const Tensor& x);

// Sums `g` down to `shape`, which g's shape must be a broadcast of.
Tensor sum_to_shape(const Tensor& g, const Shape& shape);

// sum_to_shape(mul(g, a), shape) without the full-size product where the
// summed dims end in a trailing block (ops/reduce/sum_to_shape_of_product.cpp).
// For backward functions: that fused path records no autograd history.
Tensor sum_to_shape_of_product(const Tensor& g, const Tensor& a, const Shape& shape);

}  // namespace loglin
