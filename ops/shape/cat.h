// Joining tensors: cat along an existing dim, stack along a new one.
#pragma once
#include <vector>

#include "core/tensor.h"

namespace loglin {

Tensor cat(const std::vector<Tensor>& xs, int64_t dim);
Tensor stack(const std::vector<Tensor>& xs, int64_t dim);

}  // namespace loglin
