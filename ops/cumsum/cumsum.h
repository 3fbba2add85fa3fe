// Inclusive cumulative sum along a dim; reverse = true sums from the end
// (out[i] = x[i] + x[i+1] + ... ), which is also cumsum's backward.
#pragma once
#include "core/tensor.h"

namespace loglin {

Tensor cumsum(const Tensor& x, int64_t dim, bool reverse = false);

}  // namespace loglin
