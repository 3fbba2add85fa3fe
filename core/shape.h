// Shapes, strides and broadcasting rules (numpy's: align trailing dims; a dim
// of 1 stretches).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace loglin {

using Shape = std::vector<int64_t>;

int64_t shape_numel(const Shape& s);
Shape contiguous_strides(const Shape& s);
std::string shape_str(const Shape& s);  // "[2, 3]"

// Wraps a possibly negative dim into [0, ndim); `op` names the caller in errors.
int64_t normalize_dim(int64_t dim, int64_t ndim, const char* op);

// The broadcast of two shapes, or an error naming `op` and both shapes.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);

// Strides that read a tensor of shape/strides `from` as if it had shape `to`
// (0 on stretched dims). `to` must be a broadcast of `from`.
Shape broadcast_strides(const Shape& from_shape, const Shape& from_strides, const Shape& to);

}  // namespace loglin
