// CUDA launcher for cumsum. x and out are contiguous, read as
// [outer, n, inner] with the inclusive scan along n (from the end when
// `reverse`).
#pragma once
#include <cstdint>

namespace loglin::cuda {

template <class T>
void cumsum(const T* x, T* out, int64_t outer, int64_t n, int64_t inner, bool reverse, int device);

}  // namespace loglin::cuda
