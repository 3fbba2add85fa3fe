#include "core/cuda_launch.cuh"
#include "ops/rotary/rotary_cuda.h"
#include "ops/rotary/rotary_math.h"

namespace loglin::cuda {
namespace {

// One thread per (row, pair); consecutive threads take consecutive pairs of a
// row, so the reads of x1, x2 and the tables are coalesced.
template <class T, class I>
__global__ void rotary_kernel(const T* x, StridedLayout rows_layout, int64_t d_stride, const T* cos, const T* sin, T* out,
                              I rows, I T_len, I half, bool inverse) {
  const I n = rows * half;
  for (I p = blockIdx.x * I(blockDim.x) + threadIdx.x; p < n; p += I(gridDim.x) * blockDim.x) {
    const I r = p / half, i = p - r * half, t = r % T_len;
    const int64_t base = offset_of<I>(r, rows_layout);
    const T c = cos[t * half + i], s = inverse ? -sin[t * half + i] : sin[t * half + i];
    T y1, y2;
    rotary::rotate(x[base + int64_t(i) * d_stride], x[base + int64_t(half + i) * d_stride], c, s, y1, y2);
    out[r * 2 * half + i] = y1;
    out[r * 2 * half + half + i] = y2;
  }
}

}  // namespace

template <class T>
void rotary(const T* x, const StridedLayout& rows_layout, int64_t d_stride, const T* cos, const T* sin, T* out,
            int64_t rows, int64_t T_len, int64_t D, bool inverse, int device) {
  const int64_t half = D / 2, n = rows * half;
  if (n == 0) return;
  cudaStream_t s = stream(device);
  // Offsets into x are 64-bit; only the element count picks the index type.
  const bool small = fits_32bit(rows * D);
  if (small) {
    rotary_kernel<T, uint32_t><<<blocks_for(n), kThreads, 0, s>>>(
        x, rows_layout, d_stride, cos, sin, out, static_cast<uint32_t>(rows),
        static_cast<uint32_t>(T_len), static_cast<uint32_t>(half), inverse);
  } else {
    rotary_kernel<T, int64_t><<<blocks_for(n), kThreads, 0, s>>>(x, rows_layout, d_stride, cos, sin, out, rows, T_len,
                                                                 half, inverse);
  }
  LOGLIN_CUDA_LAUNCHED("rotary_embedding");
}

template void rotary<float>(const float*, const StridedLayout&, int64_t, const float*, const float*, float*, int64_t,
                            int64_t, int64_t, bool, int);
template void rotary<double>(const double*, const StridedLayout&, int64_t, const double*, const double*, double*,
                             int64_t, int64_t, int64_t, bool, int);

}  // namespace loglin::cuda
