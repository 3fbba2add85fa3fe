// LayerNorm on CUDA. x is (rows, D) row-major; one block owns a row at a time
// and loops over rows (grid-stride), so any D from 1 up works. The forward
// takes two passes over the row (mean, then squared deviations), like the
// cpu, because E[x^2] - E[x]^2 cancels when |mean| >> std. Backward: dx per
// row in the same pass; dw and db are two-stage sums with no atomics
// (per-block partial rows, then cuda::column_sum), so they are deterministic.
#include "core/cuda_launch.cuh"
#include "ops/norm/layer_norm_cuda.h"
#include "ops/norm/norm_cuda_plan.h"
#include "ops/norm/norm_reduce.cuh"

namespace loglin::cuda {
namespace {

template <class T>
__global__ void layer_norm_fwd_kernel(const T* x, const T* w, const T* b, T* y, T* mean, T* rstd, int64_t rows,
                                      int64_t D, double eps) {
  __shared__ T scratch[32];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* xr = x + r * D;
    T* yr = y + r * D;
    T s = 0;
    for (int64_t j = threadIdx.x; j < D; j += blockDim.x) s += xr[j];
    const T mu = norm::block_sum(s, scratch) / static_cast<T>(D);
    T ss = 0;
    for (int64_t j = threadIdx.x; j < D; j += blockDim.x) {
      const T d = xr[j] - mu;
      ss += d * d;
    }
    ss = norm::block_sum(ss, scratch);
    // Once per row, in double as on the cpu.
    const T rs = static_cast<T>(1.0 / sqrt(static_cast<double>(ss) / static_cast<double>(D) + eps));
    if (threadIdx.x == 0) {
      mean[r] = mu;
      rstd[r] = rs;
    }
    for (int64_t j = threadIdx.x; j < D; j += blockDim.x) {
      T v = (xr[j] - mu) * rs;
      if (w) v *= w[j];
      if (b) v += b[j];
      yr[j] = v;
    }
  }
}

// Block k handles rows k, k + gridDim.x, ... and owns row k of dw_part and
// db_part; thread t owns columns t, t + blockDim.x, ... of them in every row,
// so the partial sums need no synchronisation.
template <class T>
__global__ void layer_norm_bwd_kernel(const T* x, const T* w, const T* mean, const T* rstd, const T* dy, T* dx,
                                      T* dw_part, T* db_part, int64_t rows, int64_t D) {
  __shared__ T scratch[32];
  T* pw = dw_part ? dw_part + int64_t(blockIdx.x) * D : nullptr;
  T* pb = db_part ? db_part + int64_t(blockIdx.x) * D : nullptr;
  for (int64_t j = threadIdx.x; j < D; j += blockDim.x) {
    if (pw) pw[j] = 0;
    if (pb) pb[j] = 0;
  }
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* xr = x + r * D;
    const T* gr = dy + r * D;
    const T mu = mean[r], rs = rstd[r];
    T sg = 0, sgx = 0;
    for (int64_t j = threadIdx.x; j < D; j += blockDim.x) {
      const T xhat = (xr[j] - mu) * rs;
      const T gw = gr[j] * (w ? w[j] : T(1));
      if (pw) pw[j] += gr[j] * xhat;
      if (pb) pb[j] += gr[j];
      sg += gw;
      sgx += gw * xhat;
    }
    if (!dx) continue;  // the same for the whole block: block_sum stays uniform
    const T a = norm::block_sum(sg, scratch) / static_cast<T>(D);
    const T c = norm::block_sum(sgx, scratch) / static_cast<T>(D);
    T* dxr = dx + r * D;
    for (int64_t j = threadIdx.x; j < D; j += blockDim.x)
      dxr[j] = rs * (gr[j] * (w ? w[j] : T(1)) - a - (xr[j] - mu) * rs * c);
  }
}

}  // namespace

template <class T>
void layer_norm_fwd(const T* x, const T* w, const T* b, T* y, T* mean, T* rstd, int64_t rows, int64_t D, double eps,
                    int device) {
  if (rows == 0) return;
  cudaStream_t s = stream(device);
  layer_norm_fwd_kernel<T><<<norm::row_blocks(rows), norm::row_threads(D), 0, s>>>(x, w, b, y, mean, rstd, rows, D,
                                                                                    eps);
  LOGLIN_CUDA_LAUNCHED("layer_norm");
}

template <class T>
void layer_norm_bwd(const T* x, const T* w, const T* mean, const T* rstd, const T* dy, T* dx, T* dw, T* db,
                    T* dw_part, T* db_part, int64_t rows, int64_t D, int device) {
  if (!dx && !dw && !db) return;
  cudaStream_t s = stream(device);
  const int64_t nb = norm_bwd_blocks(rows, D);
  if (nb > 0) {
    layer_norm_bwd_kernel<T><<<static_cast<unsigned>(nb), norm::row_threads(D), 0, s>>>(
        x, w, mean, rstd, dy, dx, dw ? dw_part : nullptr, db ? db_part : nullptr, rows, D);
    LOGLIN_CUDA_LAUNCHED("layer_norm");
  }
  // nb == 0 (no rows) gives zeros.
  if (dw) column_sum(dw_part, nb, D, D, dw, s, "layer_norm");
  if (db) column_sum(db_part, nb, D, D, db, s, "layer_norm");
}

template void layer_norm_fwd<float>(const float*, const float*, const float*, float*, float*, float*, int64_t, int64_t,
                                    double, int);
template void layer_norm_fwd<double>(const double*, const double*, const double*, double*, double*, double*, int64_t,
                                     int64_t, double, int);
template void layer_norm_bwd<float>(const float*, const float*, const float*, const float*, const float*, float*,
                                    float*, float*, float*, float*, int64_t, int64_t, int);
template void layer_norm_bwd<double>(const double*, const double*, const double*, const double*, const double*,
                                     double*, double*, double*, double*, double*, int64_t, int64_t, int);

}  // namespace loglin::cuda
