// Device pieces shared by the rms_norm and layer_norm kernels: a block-wide
// sum whose order is fixed (so every run gives the same bits) and the column
// sum that finishes the two-stage parameter gradients.
#pragma once
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

// Internal linkage: each .cu that includes this gets its own kernel, so no
// two translation units register one template kernel stub.
namespace {

constexpr int kColTile = 32;  // columns per block (one per lane)
constexpr int kColSplit = 8;  // warps per block, each summing every 8th scratch row

// out[j] = sum over b < nb of part[b * D + j], in a fixed order: warp y sums
// rows y, y+8, ... in order, then warp sums are added in warp order.
template <class T>
__global__ void column_sum_kernel(const T* part, int64_t nb, int64_t D, T* out) {
  __shared__ T tile[kColSplit][kColTile + 1];
  const int64_t j = int64_t(blockIdx.x) * kColTile + threadIdx.x;
  T s = 0;
  if (j < D)
    for (int64_t b = threadIdx.y; b < nb; b += kColSplit) s += part[b * D + j];
  tile[threadIdx.y][threadIdx.x] = s;
  __syncthreads();
  if (threadIdx.y == 0 && j < D) {
    T t = 0;
    for (int k = 0; k < kColSplit; ++k) t += tile[k][threadIdx.x];
    out[j] = t;
  }
}

template <class T>
void column_sum(const T* part, int64_t nb, int64_t D, T* out, cudaStream_t s, const char* op) {
  const unsigned tiles = static_cast<unsigned>((D + kColTile - 1) / kColTile);
  column_sum_kernel<T><<<tiles, dim3(kColTile, kColSplit), 0, s>>>(part, nb, D, out);
  LOGLIN_CUDA_LAUNCHED(op);
}

}  // namespace

}  // namespace loglin::cuda::norm
