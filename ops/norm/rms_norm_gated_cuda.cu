// Gated RMSNorm on CUDA: y = x * rstd * w * silu(z), Mamba-2's output gate in
// one kernel each way. x (rows, D) is row-major; z is read in place with its
// own row stride (a slice of a wider projection needs no copy). As in
// rms_norm_cuda.cu one block owns a row at a time and loops over rows
// (grid-stride), threads striding over the row, and the row sums are fixed-
// order block sums. Backward: dx and dz per row in one pass over x, z and dy
// (dx holds dy * silu(z) * w until the row's dot product is known, so the
// second pass reads x and dx only); dw is a two-stage sum with no atomics
// (per-block partial rows, then cuda::column_sum), so it is deterministic.
#include "core/cuda_launch.cuh"
#include "ops/norm/norm_cuda_plan.h"
#include "ops/norm/norm_reduce.cuh"
#include "ops/norm/rms_norm_gated_cuda.h"
#include "ops/norm/rms_norm_gated_math.h"
#include "ops/norm/rms_norm_warp_rows.cuh"

namespace loglin::cuda {
namespace {

template <class T>
__global__ void rms_norm_gated_fwd_kernel(const T* x, const T* z, int64_t z_row_stride, const T* w, T* y, T* rstd,
                                          int64_t rows, int64_t D, double eps) {
  __shared__ T scratch[32];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* xr = x + r * D;
    const T* zr = z + r * z_row_stride;
    T* yr = y + r * D;
    const T rs = norm::row_rstd(xr, D, eps, scratch);
    if (threadIdx.x == 0) rstd[r] = rs;
    for (int64_t j = threadIdx.x; j < D; j += blockDim.x)
      yr[j] = xr[j] * rs * (w ? w[j] : T(1)) * gate::silu(zr[j]).value;
  }
}

// Block b handles rows b, b + gridDim.x, ... and owns row b of dw_part;
// thread t owns columns t, t + blockDim.x, ... of it in every row (and of dx
// in every row, so reading back its stash needs no barrier).
template <class T>
__global__ void rms_norm_gated_bwd_kernel(const T* x, const T* z, int64_t z_row_stride, const T* w, const T* rstd,
                                          const T* dy, T* dx, T* dz, T* dw_part, int64_t rows, int64_t D) {
  __shared__ T scratch[32];
  T* part = dw_part ? dw_part + int64_t(blockIdx.x) * D : nullptr;
  if (part)
    for (int64_t j = threadIdx.x; j < D; j += blockDim.x) part[j] = 0;
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* xr = x + r * D;
    const T* zr = z + r * z_row_stride;
    const T* gr = dy + r * D;
    T* dxr = dx ? dx + r * D : nullptr;
    T* dzr = dz ? dz + r * D : nullptr;
    const T rs = rstd[r];
    T dot = 0;  // this thread's share of sum(gw * xhat)
    for (int64_t j = threadIdx.x; j < D; j += blockDim.x) {
      const gate::Silu<T> g = gate::silu(zr[j]);
      const T xhat = xr[j] * rs;
      const T wj = w ? w[j] : T(1);
      const T gn = gr[j] * g.value;  // the gradient reaching the plain RMSNorm's output
      if (part) part[j] += gn * xhat;
      if (dzr) dzr[j] = gr[j] * xhat * wj * g.grad;
      if (dxr) {
        const T gw = gn * wj;
        dxr[j] = gw;
        dot += gw * xhat;
      }
    }
    if (!dxr) continue;  // the same for the whole block: block_sum stays uniform
    dot = norm::block_sum(dot, scratch);
    const T c = dot / static_cast<T>(D);
    for (int64_t j = threadIdx.x; j < D; j += blockDim.x) dxr[j] = rs * (dxr[j] - xr[j] * rs * c);
  }
}

}  // namespace

template <class T>
void rms_norm_gated_fwd(const T* x, const T* z, int64_t z_row_stride, const T* w, T* y, T* rstd, int64_t rows,
                        int64_t D, double eps, int device) {
  if (rows == 0) return;
  cudaStream_t s = stream(device);
  if constexpr (std::is_same_v<T, float>)
    if (norm::warp_rows_fit(D, norm::kWarpRowsMaxD, z_row_stride, {x, z, w, y})) {
      norm::rms_norm_warp_fwd<true>(x, z, z_row_stride, w, y, rstd, rows, D, eps, s);
      LOGLIN_CUDA_LAUNCHED("rms_norm_gated");
      return;
    }
  rms_norm_gated_fwd_kernel<T><<<norm::row_blocks(rows), norm::row_threads(D), 0, s>>>(x, z, z_row_stride, w, y,
                                                                                       rstd, rows, D, eps);
  LOGLIN_CUDA_LAUNCHED("rms_norm_gated");
}

template <class T>
void rms_norm_gated_bwd(const T* x, const T* z, int64_t z_row_stride, const T* w, const T* rstd, const T* dy, T* dx,
                        T* dz, T* dw, T* dw_part, int64_t rows, int64_t D, int device) {
  if (!dx && !dz && !dw) return;
  cudaStream_t s = stream(device);
  const int64_t nb = norm_bwd_blocks(rows, D);
  bool warp_rows = false;
  if constexpr (std::is_same_v<T, float>)
    warp_rows = norm::warp_rows_fit(D, norm::kWarpRowsMaxDBackward, z_row_stride, {x, z, w, dy, dx, dz, dw_part});
  if (nb > 0 && warp_rows) {
    if constexpr (std::is_same_v<T, float>)
      norm::rms_norm_warp_bwd<true>(x, z, z_row_stride, w, rstd, dy, dx, dz, dw ? dw_part : nullptr, rows, D, nb, s);
    LOGLIN_CUDA_LAUNCHED("rms_norm_gated");
  } else if (nb > 0) {
    rms_norm_gated_bwd_kernel<T><<<static_cast<unsigned>(nb), norm::row_threads(D), 0, s>>>(
        x, z, z_row_stride, w, rstd, dy, dx, dz, dw ? dw_part : nullptr, rows, D);
    LOGLIN_CUDA_LAUNCHED("rms_norm_gated");
  }
  if (dw) column_sum(dw_part, nb, D, D, dw, s, "rms_norm_gated");  // nb == 0 gives zeros
}

template void rms_norm_gated_fwd<float>(const float*, const float*, int64_t, const float*, float*, float*, int64_t,
                                        int64_t, double, int);
template void rms_norm_gated_fwd<double>(const double*, const double*, int64_t, const double*, double*, double*,
                                         int64_t, int64_t, double, int);
template void rms_norm_gated_bwd<float>(const float*, const float*, int64_t, const float*, const float*, const float*,
                                        float*, float*, float*, float*, int64_t, int64_t, int);
template void rms_norm_gated_bwd<double>(const double*, const double*, int64_t, const double*, const double*,
                                         const double*, double*, double*, double*, double*, int64_t, int64_t, int);

}  // namespace loglin::cuda
