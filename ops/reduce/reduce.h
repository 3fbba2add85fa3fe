// Reductions over dims (with keepdim), and sum_to_shape, which undoes
// broadcasting in backward passes. (Its fused form for products, mul's
// backward, is ops/elementwise/sum_to_shape_of_product.h: reduce sits below
// elementwise and uses no elementwise op.)
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

}  // namespace loglin
