// RMSNorm on CUDA. x is (rows, D) row-major; one block owns a row at a time
// and loops over rows (grid-stride), so any D from 1 up works: threads stride
// over the row and the row's sum of squares is one fixed-order block sum.
// Backward: dx per row in the same pass; dw is a two-stage sum with no
// atomics (per-block partial rows, then cuda::column_sum), so it is
// deterministic.
#include "core/cuda_launch.cuh"
#include "ops/norm/norm_cuda_plan.h"
#include "ops/norm/norm_reduce.cuh"
#include "ops/norm/rms_norm_cuda.h"
#include "ops/norm/rms_norm_warp_rows.cuh"

namespace loglin::cuda {
namespace {

template <class T>
__global__ void rms_norm_fwd_kernel(const T* x, const T* w, T* y, T* rstd, int64_t rows, int64_t D, double eps) {
  __shared__ T scratch[32];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* xr = x + r * D;
    T* yr = y + r * D;
    const T rs = norm::row_rstd(xr, D, eps, scratch);
    if (threadIdx.x == 0) rstd[r] = rs;
    for (int64_t j = threadIdx.x; j < D; j += blockDim.x) yr[j] = w ? xr[j] * rs * w[j] : xr[j] * rs;
  }
}

// Block b handles rows b, b + gridDim.x, ... and owns row b of dw_part; thread
// t owns columns t, t + blockDim.x, ... of it in every row, so the partial
// sums need no synchronisation.
template <class T>
__global__ void rms_norm_bwd_kernel(const T* x, const T* w, const T* rstd, const T* dy, T* dx, T* dw_part,
                                    int64_t rows, int64_t D) {
  __shared__ T scratch[32];
  T* part = dw_part ? dw_part + int64_t(blockIdx.x) * D : nullptr;
  if (part)
    for (int64_t j = threadIdx.x; j < D; j += blockDim.x) part[j] = 0;
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* xr = x + r * D;
    const T* gr = dy + r * D;
    const T rs = rstd[r];
    T dot = 0;
    for (int64_t j = threadIdx.x; j < D; j += blockDim.x) {
      const T xhat = xr[j] * rs;
      if (part) part[j] += gr[j] * xhat;
      dot += gr[j] * (w ? w[j] : T(1)) * xhat;
    }
    if (!dx) continue;  // the same for the whole block: block_sum stays uniform
    dot = norm::block_sum(dot, scratch);
    const T c = dot / static_cast<T>(D);
    T* dxr = dx + r * D;
    for (int64_t j = threadIdx.x; j < D; j += blockDim.x)
      dxr[j] = rs * (gr[j] * (w ? w[j] : T(1)) - xr[j] * rs * c);
  }
}

}  // namespace

template <class T>
void rms_norm_fwd(const T* x, const T* w, T* y, T* rstd, int64_t rows, int64_t D, double eps, int device) {
  if (rows == 0) return;
  cudaStream_t s = stream(device);
  if constexpr (std::is_same_v<T, float>)
    if (norm::warp_rows_fit(D, norm::kWarpRowsMaxD, 0, {x, w, y})) {
      norm::rms_norm_warp_fwd<false>(x, nullptr, 0, w, y, rstd, rows, D, eps, s);
      LOGLIN_CUDA_LAUNCHED("rms_norm");
      return;
    }
  rms_norm_fwd_kernel<T><<<norm::row_blocks(rows), norm::row_threads(D), 0, s>>>(x, w, y, rstd, rows, D, eps);
  LOGLIN_CUDA_LAUNCHED("rms_norm");
}

template <class T>
void rms_norm_bwd(const T* x, const T* w, const T* rstd, const T* dy, T* dx, T* dw, T* dw_part, int64_t rows,
                  int64_t D, int device) {
  if (!dx && !dw) return;
  cudaStream_t s = stream(device);
  const int64_t nb = norm_bwd_blocks(rows, D);
  bool warp_rows = false;
  if constexpr (std::is_same_v<T, float>)
    warp_rows = norm::warp_rows_fit(D, norm::kWarpRowsMaxDBackward, 0, {x, w, dy, dx, dw_part});
  if (nb > 0 && warp_rows) {
    if constexpr (std::is_same_v<T, float>)
      norm::rms_norm_warp_bwd<false>(x, nullptr, 0, w, rstd, dy, dx, nullptr, dw ? dw_part : nullptr, rows, D, nb, s);
    LOGLIN_CUDA_LAUNCHED("rms_norm");
  } else if (nb > 0) {
    rms_norm_bwd_kernel<T><<<static_cast<unsigned>(nb), norm::row_threads(D), 0, s>>>(
        x, w, rstd, dy, dx, dw ? dw_part : nullptr, rows, D);
    LOGLIN_CUDA_LAUNCHED("rms_norm");
  }
  if (dw) column_sum(dw_part, nb, D, D, dw, s, "rms_norm");  // nb == 0 gives zeros
}

template void rms_norm_fwd<float>(const float*, const float*, float*, float*, int64_t, int64_t, double, int);
template void rms_norm_fwd<double>(const double*, const double*, double*, double*, int64_t, int64_t, double, int);
template void rms_norm_bwd<float>(const float*, const float*, const float*, const float*, float*, float*, float*,
                                  int64_t, int64_t, int);
template void rms_norm_bwd<double>(const double*, const double*, const double*, const double*, double*, double*,
                                   double*, int64_t, int64_t, int);

}  // namespace loglin::cuda
