// softmax / log_softmax kernels. The softmax dim last (inner == 1): one row
// per warp up to 1024 elements, else one row per block; three passes over the
// row (max, sum of exp, write), re-reads hitting L1/L2. The softmax dim not
// last: one thread per (outer, inner) column walking C, neighbouring threads
// reading neighbouring addresses. Sums accumulate in T (f32 in f32).
#include "core/cuda_launch.cuh"
#include "ops/reduce/team_reduce.cuh"
#include "ops/softmax/softmax_cuda.h"

namespace loglin::cuda {
namespace {

template <class Team, class T>
__global__ void softmax_fwd_rows_kernel(const T* x, T* y, int64_t rows, int64_t C, bool log) {
  using A = acc_t<T>;
  const Team team{};
  for (int64_t r = team.id(); r < rows; r += team.count()) {
    const T* xr = x + r * C;
    T* yr = y + r * C;
    A m = MaxOp<A>{}.identity();
    for (int64_t c = team.rank(); c < C; c += team.size()) m = fmax(m, load_acc(xr + c));
    m = team.allreduce(m, MaxOp<A>{});
    A s = A(0);
    for (int64_t c = team.rank(); c < C; c += team.size()) s += dev_exp(load_acc(xr + c) - m);
    s = team.allreduce(s, SumOp<A>{});
    if (log) {
      const A ls = dev_log(s);
      for (int64_t c = team.rank(); c < C; c += team.size()) store_from(yr + c, (load_acc(xr + c) - m) - ls);
    } else {
      const A inv = A(1) / s;
      for (int64_t c = team.rank(); c < C; c += team.size()) store_from(yr + c, dev_exp(load_acc(xr + c) - m) * inv);
    }
  }
}

template <class Team, class T>
__global__ void softmax_bwd_rows_kernel(const T* y, const T* dy, T* dx, int64_t rows, int64_t C, bool log) {
  using A = acc_t<T>;
  const Team team{};
  for (int64_t r = team.id(); r < rows; r += team.count()) {
    const T* yr = y + r * C;
    const T* dyr = dy + r * C;
    T* dxr = dx + r * C;
    A s = A(0);
    for (int64_t c = team.rank(); c < C; c += team.size())
      s += log ? load_acc(dyr + c) : load_acc(dyr + c) * load_acc(yr + c);
    s = team.allreduce(s, SumOp<A>{});
    for (int64_t c = team.rank(); c < C; c += team.size()) {
      const A yv = load_acc(yr + c), g = load_acc(dyr + c);
      store_from(dxr + c, log ? g - dev_exp(yv) * s : yv * (g - s));
    }
  }
}

// One thread per column (o, i) of [outer, C, inner]; element c at base + c * inner.
template <class T>
__global__ void softmax_fwd_cols_kernel(const T* x, T* y, int64_t outer, int64_t C, int64_t inner, bool log) {
  using A = acc_t<T>;
  const int64_t cols = outer * inner;
  for (int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; t < cols; t += int64_t(gridDim.x) * blockDim.x) {
    const int64_t o = t / inner, i = t - o * inner;
    const T* xc = x + o * C * inner + i;
    T* yc = y + o * C * inner + i;
    A m = MaxOp<A>{}.identity();
    for (int64_t c = 0; c < C; ++c) m = fmax(m, load_acc(xc + c * inner));
    A s = A(0);
    for (int64_t c = 0; c < C; ++c) s += dev_exp(load_acc(xc + c * inner) - m);
    if (log) {
      const A ls = dev_log(s);
      for (int64_t c = 0; c < C; ++c) store_from(yc + c * inner, (load_acc(xc + c * inner) - m) - ls);
    } else {
      const A inv = A(1) / s;
      for (int64_t c = 0; c < C; ++c) store_from(yc + c * inner, dev_exp(load_acc(xc + c * inner) - m) * inv);
    }
  }
}

template <class T>
__global__ void softmax_bwd_cols_kernel(const T* y, const T* dy, T* dx, int64_t outer, int64_t C, int64_t inner,
                                        bool log) {
  using A = acc_t<T>;
  const int64_t cols = outer * inner;
  for (int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; t < cols; t += int64_t(gridDim.x) * blockDim.x) {
    const int64_t o = t / inner, i = t - o * inner;
    const int64_t base = o * C * inner + i;
    A s = A(0);
    for (int64_t c = 0; c < C; ++c) {
      const int64_t k = base + c * inner;
      s += log ? load_acc(dy + k) : load_acc(dy + k) * load_acc(y + k);
    }
    for (int64_t c = 0; c < C; ++c) {
      const int64_t k = base + c * inner;
      const A yv = load_acc(y + k), g = load_acc(dy + k);
      store_from(dx + k, log ? g - dev_exp(yv) * s : yv * (g - s));
    }
  }
}

}  // namespace

template <class T>
void softmax_fwd(const T* x, T* y, int64_t outer, int64_t C, int64_t inner, bool log, int device) {
  if (outer * C * inner == 0) return;
  cudaStream_t s = stream(device);
  const char* op = log ? "log_softmax" : "softmax";
  if (inner > 1) {
    softmax_fwd_cols_kernel<T><<<blocks_for(outer * inner), kThreads, 0, s>>>(x, y, outer, C, inner, log);
  } else if (C <= kWarpRowMax) {
    softmax_fwd_rows_kernel<WarpTeam, T><<<warp_team_blocks(outer), kWarpTeamThreads, 0, s>>>(x, y, outer, C, log);
  } else {
    softmax_fwd_rows_kernel<BlockTeam, T><<<block_team_blocks(outer), kBlockTeamThreads, 0, s>>>(x, y, outer, C, log);
  }
  LOGLIN_CUDA_LAUNCHED(op);
}

template <class T>
void softmax_bwd(const T* y, const T* dy, T* dx, int64_t outer, int64_t C, int64_t inner, bool log, int device) {
  if (outer * C * inner == 0) return;
  cudaStream_t s = stream(device);
  const char* op = log ? "log_softmax" : "softmax";
  if (inner > 1) {
    softmax_bwd_cols_kernel<T><<<blocks_for(outer * inner), kThreads, 0, s>>>(y, dy, dx, outer, C, inner, log);
  } else if (C <= kWarpRowMax) {
    softmax_bwd_rows_kernel<WarpTeam, T><<<warp_team_blocks(outer), kWarpTeamThreads, 0, s>>>(y, dy, dx, outer, C,
                                                                                             log);
  } else {
    softmax_bwd_rows_kernel<BlockTeam, T><<<block_team_blocks(outer), kBlockTeamThreads, 0, s>>>(y, dy, dx, outer, C,
                                                                                                log);
  }
  LOGLIN_CUDA_LAUNCHED(op);
}

template void softmax_fwd<float>(const float*, float*, int64_t, int64_t, int64_t, bool, int);
template void softmax_fwd<double>(const double*, double*, int64_t, int64_t, int64_t, bool, int);
template void softmax_bwd<float>(const float*, const float*, float*, int64_t, int64_t, int64_t, bool, int);
template void softmax_bwd<double>(const double*, const double*, double*, int64_t, int64_t, int64_t, bool, int);

}  // namespace loglin::cuda
