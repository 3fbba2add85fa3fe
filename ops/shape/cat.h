// Joining tensors: cat along an existing dim, stack along a new one; and
// unbind, stack's inverse.
#pragma once
#include <vector>

#include "core/tensor.h"

namespace loglin {

Tensor cat(const std::vector<Tensor>& xs, int64_t dim);
Tensor stack(const std::vector<Tensor>& xs, int64_t dim);
// The x.size(dim) slices of x along dim, as views. Unlike separate select()
// calls, the backward builds one gradient for x (a stack of the slices'
// gradients, zeros where a slice got none) instead of one full-size tensor
// per slice.
std::vector<Tensor> unbind(const Tensor& x, int64_t dim);
// Consecutive pieces of x along dim, sizes[i] long each (they must add up to
// x.size(dim)), as views. Like unbind, one node takes every piece's gradient
// and writes them into a single gradient for x: separate narrow() calls would
// each build a zero-filled gradient of x's full size, which the engine then
// sums (the split of a fused projection into its parts is the common case).
std::vector<Tensor> split(const Tensor& x, int64_t dim, const std::vector<int64_t>& sizes);

}  // namespace loglin
