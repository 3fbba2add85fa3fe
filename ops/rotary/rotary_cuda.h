// Launchers for rotary_embedding on CUDA (ops/rotary/rotary_cuda.cu).
#pragma once
#include <cstdint>

#include "core/strided_layout.h"

namespace loglin::cuda {

// out (contiguous [rows, D]) = rotate(x) where row r of x starts at
// offset(r, rows_layout) and steps by d_stride along D; table row t = r % T.
// `inverse` rotates by -theta (the backward).
template <class T>
void rotary(const T* x, const StridedLayout& rows_layout, int64_t d_stride, const T* cos, const T* sin, T* out,
            int64_t rows, int64_t T_len, int64_t D, bool inverse, int device);

}  // namespace loglin::cuda
