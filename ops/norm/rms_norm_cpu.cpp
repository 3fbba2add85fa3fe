#include "ops/norm/rms_norm_cpu.h"

#include <vector>

#include "ops/norm/norm_cpu_plan.h"

namespace loglin::cpu {

using norm::kGrain;

template <class T>
void rms_norm_fwd(const T* x, const T* w, T* y, T* rstd, int64_t rows, int64_t D, double eps) {
#pragma omp parallel for if (rows * D > kGrain)
  for (int64_t r = 0; r < rows; ++r) {
    const T* xr = x + r * D;
    T* yr = y + r * D;
    const T rs = norm::row_rstd(xr, D, eps);
    rstd[r] = rs;
    if (w) {
      for (int64_t j = 0; j < D; ++j) yr[j] = xr[j] * rs * w[j];
    } else {
      for (int64_t j = 0; j < D; ++j) yr[j] = xr[j] * rs;
    }
  }
}

template <class T>
void rms_norm_bwd(const T* x, const T* w, const T* rstd, const T* dy, T* dx, T* dw, int64_t rows, int64_t D) {
  const norm::RowBlocks split(rows);
  const int64_t blocks = split.blocks;
  std::vector<double> dw_part(dw ? static_cast<size_t>(blocks * D) : 0, 0.0);
#pragma omp parallel for if (rows * D > kGrain)
  for (int64_t blk = 0; blk < blocks; ++blk) {
    double* dwp = dw ? dw_part.data() + blk * D : nullptr;
    const int64_t r0 = split.block_begin(blk), r1 = split.block_begin(blk + 1);
    for (int64_t r = r0; r < r1; ++r) {
      const T* xr = x + r * D;
      const T* gr = dy + r * D;
      const T rs = rstd[r];
      if (dwp)
        for (int64_t j = 0; j < D; ++j) dwp[j] += static_cast<double>(gr[j]) * (xr[j] * rs);
      if (!dx) continue;
      double dot = 0;
      for (int64_t j = 0; j < D; ++j) dot += static_cast<double>(gr[j] * (w ? w[j] : T(1))) * (xr[j] * rs);
      const T c = static_cast<T>(dot / static_cast<double>(D));
      T* dxr = dx + r * D;
      for (int64_t j = 0; j < D; ++j) dxr[j] = rs * (gr[j] * (w ? w[j] : T(1)) - xr[j] * rs * c);
    }
  }
  if (dw) norm::sum_block_parts(dw_part, blocks, D, dw);
}

template void rms_norm_fwd<float>(const float*, const float*, float*, float*, int64_t, int64_t, double);
template void rms_norm_fwd<double>(const double*, const double*, double*, double*, int64_t, int64_t, double);
template void rms_norm_bwd<float>(const float*, const float*, const float*, const float*, float*, float*, int64_t,
                                  int64_t);
template void rms_norm_bwd<double>(const double*, const double*, const double*, const double*, double*, double*,
                                   int64_t, int64_t);

}  // namespace loglin::cpu
