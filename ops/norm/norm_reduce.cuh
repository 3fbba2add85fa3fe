// Device pieces shared by the rms_norm, rms_norm_gated and layer_norm
// kernels: a block-wide sum whose order is fixed (so every run gives the same
// bits), a row's rstd, and the column sum that finishes the two-stage
// parameter gradients.
#pragma once
#include "core/cuda_column_sum.cuh"
#include "core/cuda_launch.cuh"

namespace loglin::cuda::norm {

constexpr unsigned kFullMask = 0xffffffffu;

template <class A>
__device__ __forceinline__ A warp_sum(A v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(kFullMask, v, o);
  return v;
}

// Sum of v over the block, returned to every thread. blockDim.x must be a
// multiple of 32 (at most 1024); every thread of the block must call it.
// scratch holds 32 values and may be reused by the next call: the leading
// barrier keeps a fast warp from overwriting it while others still read.
template <class A>
__device__ __forceinline__ A block_sum(A v, A* scratch) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  v = warp_sum(v);
  __syncthreads();
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  // Every warp adds the per-warp sums in the same order: all threads agree.
  return warp_sum(lane < warps ? scratch[lane] : A(0));
}

// 1 / sqrt(mean(xr^2) + eps) of a row of D, to every thread of the block
// (the calling rules of block_sum). The squares are summed in T; the last
// step runs once per row in double, as on the cpu.
template <class T>
__device__ __forceinline__ T row_rstd(const T* xr, int64_t D, double eps, T* scratch) {
  T ss = 0;
  for (int64_t j = threadIdx.x; j < D; j += blockDim.x) ss += xr[j] * xr[j];
  ss = block_sum(ss, scratch);
  return static_cast<T>(1.0 / sqrt(static_cast<double>(ss) / static_cast<double>(D) + eps));
}

// Threads per row: about four elements each, a whole number of warps, at most
// 512 so that a long row still leaves room for several blocks per SM.
inline int row_threads(int64_t D) {
  const int64_t t = ((D + 3) / 4 + 31) / 32 * 32;
  return static_cast<int>(std::clamp<int64_t>(t, 32, 512));
}

// Blocks for a loop over rows, one row per block at a time.
inline unsigned row_blocks(int64_t rows) {
  return static_cast<unsigned>(std::clamp<int64_t>(rows, 1, int64_t{1} << 20));
}

// The column sums of the weight gradients: cuda::column_sum
// (core/cuda_column_sum.cuh), with ld = D.

}  // namespace loglin::cuda::norm
