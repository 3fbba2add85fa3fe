// Depthwise causal conv1d on CUDA, x (B,T,C) channels-last. Threads run over
// channels (coalesced), blocks over tiles of consecutive rows (b,t), so the
// W-1 earlier rows a tap reads were just read by the same block and come from
// L1. Weight and bias gradients: each thread sums one channel over a fixed
// chunk of rows into scratch, then a column sum adds the chunks in order —
// deterministic, no atomics.
#include "core/cuda_column_sum.cuh"
#include "core/cuda_launch.cuh"
#include "ops/conv1d/causal_conv1d_cuda.h"

namespace loglin::cuda {
namespace {

constexpr int kChanTile = 128;   // channels per block (threads)
constexpr int64_t kRowTile = 16;  // consecutive rows per block in fwd and dx
constexpr int kTaps = 4;          // dw accumulators per thread; wider kernels loop over groups of taps

int chan_threads(int64_t C) { return static_cast<int>(std::clamp<int64_t>((C + 31) / 32 * 32, 32, kChanTile)); }

dim3 row_tile_grid(int64_t rows, int64_t C, int threads) {
  const int64_t tiles = (rows + kRowTile - 1) / kRowTile;
  return dim3(static_cast<unsigned>((C + threads - 1) / threads),
              static_cast<unsigned>(std::clamp<int64_t>(tiles, 1, 65535)));
}

template <class T>
__global__ void causal_conv1d_fwd_kernel(const T* x, const T* wt, const T* bias, T* out, int64_t rows, int64_t T_,
                                         int64_t C, int64_t W) {
  const int64_t c = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (c >= C) return;  // no barriers below
  const T b = bias ? bias[c] : T(0);
  for (int64_t r0 = int64_t(blockIdx.y) * kRowTile; r0 < rows; r0 += int64_t(gridDim.y) * kRowTile) {
    const int64_t r1 = r0 + kRowTile < rows ? r0 + kRowTile : rows;
    for (int64_t row = r0; row < r1; ++row) {
      const int64_t t = row % T_;
      T acc = b;
      // Tap j reads time t-(W-1)+j, i.e. row - (W-1-j) in the same sequence.
      for (int64_t j = W - 1 - t > 0 ? W - 1 - t : 0; j < W; ++j) acc += wt[j * C + c] * x[(row - (W - 1 - j)) * C + c];
      out[row * C + c] = acc;
    }
  }
}

template <class T>
__global__ void causal_conv1d_bwd_dx_kernel(const T* dy, const T* wt, T* dx, int64_t rows, int64_t T_, int64_t C,
                                            int64_t W) {
  const int64_t c = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (c >= C) return;
  for (int64_t r0 = int64_t(blockIdx.y) * kRowTile; r0 < rows; r0 += int64_t(gridDim.y) * kRowTile) {
    const int64_t r1 = r0 + kRowTile < rows ? r0 + kRowTile : rows;
    for (int64_t row = r0; row < r1; ++row) {
      const int64_t s = row % T_;
      T acc = 0;
      for (int64_t j = 0; j < W; ++j) {
        const int64_t shift = W - 1 - j;
        if (s + shift < T_) acc += wt[j * C + c] * dy[(row + shift) * C + c];
      }
      dx[row * C + c] = acc;
    }
  }
}

// Thread (c, chunk = blockIdx.y) sums rows [rows*k/n, rows*(k+1)/n) into
// part[k, j, c] (taps j < W) and part[k, W, c] (bias).
template <class T>
__global__ void causal_conv1d_bwd_dw_part_kernel(const T* dy, const T* x, T* part, int64_t rows, int64_t T_,
                                                 int64_t C, int64_t W) {
  const int64_t c = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (c >= C) return;
  const int64_t k = blockIdx.y, n = gridDim.y;
  const int64_t r0 = rows * k / n, r1 = rows * (k + 1) / n;
  T* pk = part + k * (W + 1) * C;
  T bsum = 0;
  for (int64_t j0 = 0; j0 < W; j0 += kTaps) {
    T acc[kTaps];
#pragma unroll
    for (int q = 0; q < kTaps; ++q) acc[q] = 0;
    for (int64_t row = r0; row < r1; ++row) {
      const int64_t t = row % T_;
      const T g = dy[row * C + c];
      if (j0 == 0) bsum += g;
#pragma unroll
      for (int q = 0; q < kTaps; ++q) {
        const int64_t back = W - 1 - (j0 + q);  // tap j0+q reads row - back
        if (j0 + q < W && t >= back) acc[q] += g * x[(row - back) * C + c];
      }
    }
#pragma unroll
    for (int q = 0; q < kTaps; ++q)
      if (j0 + q < W) pk[(j0 + q) * C + c] = acc[q];
  }
  pk[W * C + c] = bsum;
}


}  // namespace

template <class T>
void causal_conv1d_fwd(const T* x, const T* wt, const T* bias, T* out, int64_t B, int64_t T_, int64_t C, int64_t W,
                       int device) {
  const int64_t rows = B * T_;
  if (rows == 0 || C == 0) return;
  cudaStream_t s = stream(device);
  const int threads = chan_threads(C);
  causal_conv1d_fwd_kernel<T><<<row_tile_grid(rows, C, threads), threads, 0, s>>>(x, wt, bias, out, rows, T_, C, W);
  LOGLIN_CUDA_LAUNCHED("causal_conv1d");
}

template <class T>
void causal_conv1d_bwd_dx(const T* dy, const T* wt, T* dx, int64_t B, int64_t T_, int64_t C, int64_t W, int device) {
  const int64_t rows = B * T_;
  if (rows == 0 || C == 0) return;
  cudaStream_t s = stream(device);
  const int threads = chan_threads(C);
  causal_conv1d_bwd_dx_kernel<T><<<row_tile_grid(rows, C, threads), threads, 0, s>>>(dy, wt, dx, rows, T_, C, W);
  LOGLIN_CUDA_LAUNCHED("causal_conv1d");
}

template <class T>
void causal_conv1d_bwd_dw(const T* dy, const T* x, T* dwt, T* db, T* part, int64_t B, int64_t T_, int64_t C,
                          int64_t W, int device) {
  if ((!dwt && !db) || C == 0) return;
  const int64_t rows = B * T_;
  const int64_t chunks = causal_conv1d_bwd_chunks(rows);
  cudaStream_t s = stream(device);
  const int threads = chan_threads(C);
  const dim3 grid(static_cast<unsigned>((C + threads - 1) / threads), static_cast<unsigned>(chunks));
  // With no rows every chunk is empty and writes zeros, as the cpu gives.
  causal_conv1d_bwd_dw_part_kernel<T><<<grid, threads, 0, s>>>(dy, x, part, rows, T_, C, W);
  LOGLIN_CUDA_LAUNCHED("causal_conv1d");
  const int64_t ld = (W + 1) * C;
  if (dwt) column_sum(part, chunks, ld, W * C, dwt, s, "causal_conv1d");
  if (db) column_sum(part + W * C, chunks, ld, C, db, s, "causal_conv1d");
}

template void causal_conv1d_fwd<float>(const float*, const float*, const float*, float*, int64_t, int64_t, int64_t,
                                       int64_t, int);
template void causal_conv1d_fwd<double>(const double*, const double*, const double*, double*, int64_t, int64_t,
                                        int64_t, int64_t, int);
template void causal_conv1d_bwd_dx<float>(const float*, const float*, float*, int64_t, int64_t, int64_t, int64_t, int);
template void causal_conv1d_bwd_dx<double>(const double*, const double*, double*, int64_t, int64_t, int64_t, int64_t,
                                           int);
template void causal_conv1d_bwd_dw<float>(const float*, const float*, float*, float*, float*, int64_t, int64_t,
                                          int64_t, int64_t, int);
template void causal_conv1d_bwd_dw<double>(const double*, const double*, double*, double*, double*, int64_t, int64_t,
                                           int64_t, int64_t, int);

}  // namespace loglin::cuda
