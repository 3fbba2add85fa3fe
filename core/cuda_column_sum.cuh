// The second stage of the deterministic weight-gradient sums (norms, conv1d):
// blocks wrote partial rows into a scratch [nb, ld] buffer; this adds each
// column over the nb rows in a fixed order, so a gradient is the same bits on
// every run (no float atomics).
#pragma once
#include "core/cuda_launch.cuh"

namespace loglin::cuda {
// Internal linkage: each .cu that includes this gets its own kernel, so no
// two translation units register one template kernel stub.
namespace {

constexpr int kColTile = 32;  // columns per block (one per lane)
constexpr int kColSplit = 8;  // warps per block, each summing every 8th scratch row

// out[i] = sum over k < nb of part[k * ld + i] for i < width: warp y adds rows
// y, y+8, ... in order, then the warps' sums are added in warp order.
template <class T>
__global__ void column_sum_kernel(const T* part, int64_t nb, int64_t ld, int64_t width, T* out) {
  __shared__ T tile[kColSplit][kColTile + 1];
  const int64_t i = int64_t(blockIdx.x) * kColTile + threadIdx.x;
  T s = 0;
  if (i < width)
    for (int64_t k = threadIdx.y; k < nb; k += kColSplit) s += part[k * ld + i];
  tile[threadIdx.y][threadIdx.x] = s;
  __syncthreads();
  if (threadIdx.y == 0 && i < width) {
    T t = 0;
    for (int q = 0; q < kColSplit; ++q) t += tile[q][threadIdx.x];
    out[i] = t;
  }
}

template <class T>
void column_sum(const T* part, int64_t nb, int64_t ld, int64_t width, T* out, cudaStream_t s, const char* op) {
  const unsigned tiles = static_cast<unsigned>((width + kColTile - 1) / kColTile);
  column_sum_kernel<T><<<tiles, dim3(kColTile, kColSplit), 0, s>>>(part, nb, ld, width, out);
  LOGLIN_CUDA_LAUNCHED(op);
}

}  // namespace
}  // namespace loglin::cuda
